#!/usr/bin/env node
// Builds dist/index.js (Node library), dist/cli.js (the `rddm` command) and dist/rddm.browser.js (ESM for
// browsers, from the same src/, shaders/ and runtime/; no Node built-in may reach it).
import { build } from 'esbuild';
import { nodeOptions } from './esbuild-options.mjs';

const common = { ...nodeOptions, sourcemap: true };
await build({ ...common, entryPoints: ['src/index.ts'], outfile: 'dist/index.js' });
await build({ ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js' });
// Any node: import is a bug in the core; 'webgpu' (Dawn) is only reached in Node and never bundled.
const browser = { bundle: true, format: 'esm', platform: 'browser', target: 'es2022', sourcemap: true, loader: { '.wgsl': 'text' }, external: ['webgpu'], logLevel: 'warning' };
await build({ ...browser, entryPoints: ['src/index.ts'], outfile: 'dist/rddm.browser.js', metafile: true }).then(async (r) => {
  const { writeFileSync } = await import('node:fs');
  writeFileSync('dist/rddm.browser.meta.json', JSON.stringify(r.metafile));
});
// The web demo's page script (web/main.ts); `npm run web` serves it with web/index.html.
await build({ ...browser, entryPoints: ['web/main.ts'], outfile: 'dist/web/app.js' });
// LibRaw's worker, beside it (its own CSP lets it compile WebAssembly and run embind's generated functions).
await build({ ...browser, entryPoints: ['web/libraw-worker.ts'], outfile: 'dist/web/libraw-worker.js' });
console.log('built dist/index.js, dist/cli.js, dist/rddm.browser.js, dist/web/app.js, dist/web/libraw-worker.js');
