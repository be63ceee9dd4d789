import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as rddm from '../../src/index.js';
import { runOpCases } from './op-cases.js';
import { bundleForBrowser, CHROMIUM, launchChromium, serve } from '../helpers/browser.js';
import { needInSuite } from '../helpers/need-in-suite.js';

describe('the engine in a real browser (Chromium, WebGPU)', () => {
  const have = needInSuite(CHROMIUM);
  let nodeResults: Record<string, number[]>;
  beforeAll(async () => {
    if (!have) return;
    await rddm.init();
    nodeResults = await runOpCases(rddm);
  });
  afterAll(() => {});

  it('runs the op cases in the page and matches Node within 1e-5', async () => {
    const js = await bundleForBrowser('test/browser/page-entry.ts');
    const html = '<!doctype html><meta charset="utf-8"><title>rddm ops</title><script type="module" src="/page.js"></script>';
    const { url, server } = await serve({ '/': { type: 'text/html', body: html }, '/page.js': { type: 'text/javascript', body: js } });
    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      const logs: string[] = [];
      page.on('console', (m) => logs.push(m.text()));
      await page.goto(url);
      await page.waitForFunction(() => window.__rddm?.done === true, undefined, { timeout: 180_000 });
      const state = await page.evaluate(() => window.__rddm);
      expect(state.error, `page error; console: ${logs.join(' | ')}`).toBeUndefined();
      console.log('browser adapter:', JSON.stringify(state.adapter));
      const results = state.results!;
      expect(Object.keys(results).sort()).toEqual(Object.keys(nodeResults).sort());
      const diffs: Record<string, number> = {};
      for (const [name, ref] of Object.entries(nodeResults)) {
        const got = results[name];
        expect(got.length, name).toBe(ref.length);
        // Relative to the tensor's scale (at least 1): the two sides may pick different kernels (the page's adapter
        // need not be recognised as a CPU one), and summation orders then differ by float32 steps of the largest
        // terms, also in elements that cancel to near 0 (a conv's input gradient differed by 1.01e-5 of 1 that way).
        let worst = 0, scale = 1;
        for (const v of ref) scale = Math.max(scale, Math.abs(v));
        for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(got[i] - ref[i]) / scale);
        diffs[name] = worst;
      }
      console.log('max |browser - node| / max(1, max |node|):', Object.entries(diffs).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', '));
      for (const [name, worst] of Object.entries(diffs)) expect(worst, `${name} differs between Node and the browser by ${worst}`).toBeLessThanOrEqual(1e-5);
    } finally {
      await browser.close();
      server.close();
    }
  }, 300_000);
});
