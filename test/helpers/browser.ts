import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';

import { CHROMIUM } from './requirements.js';

export { CHROMIUM };

/** Flags that give WebGPU (SwiftShader) in Debian's headless Chromium with no network (see docs/platform.md). */
export const CHROMIUM_ARGS = [
  '--headless=new',
  '--enable-unsafe-webgpu',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];


/** Bundles a TS entry for the browser (WGSL as text), in memory. */
export async function bundleForBrowser(entry: string): Promise<string> {
  const r = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    loader: { '.wgsl': 'text' },
    external: ['webgpu'],
    logLevel: 'silent',
  });
  return r.outputFiles[0].text;
}

/** Serves fixed routes on 127.0.0.1 (random port). */
export async function serve(routes: Record<string, { type: string; body: string | Uint8Array }>): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const r = routes[(req.url ?? '/').split('?')[0]];
    if (!r) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': r.type, 'cache-control': 'no-store' }).end(r.body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('server did not bind');
  return { url: `http://127.0.0.1:${addr.port}`, server };
}

/** Launches Debian's Chromium through playwright-core with a fresh profile; never downloads a browser. */
export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'rddm-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
