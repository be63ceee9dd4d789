// LibRaw in the web page: the demo server makes the page cross-origin isolated, the page fetches LibRaw's
// WebAssembly on first use and opens a camera format our own readers do not read (a headerless AVT F-080C dump,
// which dcraw and LibRaw identify by its size) and an X-Trans DNG (described, but neither previewed nor restored).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { CHROMIUM, launchChromium } from '../helpers/browser.js';
import { needInSuite } from '../helpers/need-in-suite.js';
import { buildDng } from '../helpers/dng-builder.js';
import { avtF080c, syntheticMosaic } from '../helpers/test-raw.js';
import { act, pageState, startDemo } from './web-app.js';

const MINUTES = 60_000;

describe('LibRaw in the web page', () => {
  const have = needInSuite(CHROMIUM);
  let demo: Awaited<ReturnType<typeof startDemo>>;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  beforeAll(async () => {
    if (!have) return;
    demo = await startDemo();
    browser = await launchChromium();
    page = await browser.context.newPage();
    await page.addInitScript(`document.addEventListener('securitypolicyviolation', (e) => (self.__cspViolations ??= []).push(e.violatedDirective + ' ' + e.blockedURI));`);
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.goto(demo.url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 2 * MINUTES });
  }, 5 * MINUTES);
  afterAll(async () => {
    await browser?.close();
    await demo?.close();
  });

  const open = (name: string, buffer: Buffer) =>
    act(page, '#status', () => page.setInputFiles('#file-input', { name, mimeType: 'application/octet-stream', buffer }), ['error', 'ready'], 5 * MINUTES);

  it('the page is cross-origin isolated, so LibRaw may share its WebAssembly memory', async () => {
    expect(await page.evaluate(() => globalThis.crossOriginIsolated)).toBe(true);
  });

  it('opens a camera format only LibRaw reads, and an X-Trans DNG it describes but does not restore', async () => {
    await page.selectOption('#bin-select', '8');
    const phase = await open('avt.raw', Buffer.from(avtF080c()));
    const info = (await page.textContent('#file-info')) ?? '';
    expect(info, await pageState(page)).toMatch(/^avt\.raw: RAW \(read by LibRaw\) from AVT F-080C, 128×96 \(binned 8×8\), RGGB, 8-bit/);
    // With WebGPU the preview follows; without it the page says what it needs. Either way the file was read.
    expect(['ready', 'error']).toContain(phase);

    const xtrans = Buffer.from(buildDng(syntheticMosaic(72, 48, 12, 2), 72, 48, { compression: 1, bits: 16, sensor: 'x-trans' }));
    expect(await open('xtrans.dng', xtrans)).toBe('error');
    expect(await page.textContent('#file-info')).toMatch(/^xtrans\.dng: DNG \(read by LibRaw\) from Test Cam, 72×48, X-Trans, 16-bit/);
    expect(await page.textContent('#status')).toMatch(/its X-Trans sensor is not a 2×2 Bayer mosaic, which the preview and restoration need/);
    expect(await page.isEnabled('#restore-button')).toBe(false);
    expect(await page.evaluate(() => (self as unknown as { __cspViolations?: string[] }).__cspViolations ?? [])).toEqual([]);
  }, 5 * MINUTES);
});
