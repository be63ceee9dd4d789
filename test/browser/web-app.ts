// Starts the web demo for tests: web/main.ts bundled into a temporary folder (so tests never depend on, or
// overwrite, a `npm run build`), served by the real demo server from the repository root.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startWebServer } from '../../src/node/web-server.js';
import { bundleForBrowser } from '../helpers/browser.js';

export async function startDemo(): Promise<{ url: string; origin: string; close(): Promise<void> }> {
  const appDir = mkdtempSync(join(tmpdir(), 'rddm-web-'));
  writeFileSync(join(appDir, 'app.js'), await bundleForBrowser('web/main.ts'));
  writeFileSync(join(appDir, 'libraw-worker.js'), await bundleForBrowser('web/libraw-worker.ts'));
  const srv = await startWebServer({ root: process.cwd(), appDir, port: 0 });
  return {
    url: srv.url,
    origin: new URL(srv.url).origin,
    async close() {
      await srv.close();
      rmSync(appDir, { recursive: true, force: true });
    },
  };
}

/**
 * Keeps every GPUDevice the page creates reachable as window.__testDevices, so a test can destroy the page's device
 * the way a driver reset would, without a hook in the app.
 */
export const CAPTURE_DEVICES = `(() => {
  if (!('GPUAdapter' in self)) return;
  const original = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (...args) {
    const device = await original.apply(this, args);
    (self.__testDevices ??= []).push(device);
    return device;
  };
})();`;

/**
 * Runs `action`, then waits for a status update of `selector` made after it (the page counts them in data-seq) whose
 * data-phase is one of `phases`; returns that phase. Counting updates keeps an old "error" from passing for a new one.
 */
export async function act(page: Page, selector: string, action: () => Promise<unknown>, phases: string[], timeout: number): Promise<string> {
  const before = await page.$eval(selector, (e) => Number((e as HTMLElement).dataset.seq ?? 0));
  await action();
  await page.waitForFunction(
    ([sel, ok, seq]) => {
      const e = document.querySelector(sel) as HTMLElement | null;
      return Number(e?.dataset.seq ?? 0) > seq && ok.includes(e?.dataset.phase ?? '');
    },
    [selector, phases, before] as const,
    { timeout, polling: 250 },
  );
  return page.$eval(selector, (e) => (e as HTMLElement).dataset.phase ?? '');
}

/** The page's status, error and progress text, for failure messages. */
export async function pageState(page: Page): Promise<string> {
  return page.evaluate(() => {
    const t = (id: string) => document.getElementById(id)?.textContent?.trim() ?? '';
    const err = document.getElementById('error')!;
    return `status [${document.getElementById('status')?.dataset.phase}] ${t('status')} | error [${err.hidden ? 'hidden' : err.dataset.kind}] ${t('error')} | progress ${t('progress-label')}`;
  });
}
