#!/usr/bin/env node
// Runs a TypeScript entry point (which may import .wgsl) by bundling it with esbuild into .cache/.
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { resolve, basename } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { nodeOptions } from './esbuild-options.mjs';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node scripts/run-ts.mjs FILE.ts [args...]');
  process.exit(2);
}
process.env.XDG_RUNTIME_DIR ??= '/tmp';
const outDir = resolve(root, '.cache/run');
mkdirSync(outDir, { recursive: true });
const outfile = resolve(outDir, basename(entry).replace(/\.ts$/, '') + `.${process.pid}.mjs`);
await build({ ...nodeOptions, entryPoints: [resolve(entry)], outfile });
process.argv = [process.argv[0], resolve(entry), ...args];
try {
  await import(pathToFileURL(outfile).href);
} finally {
  (await import('node:fs')).rmSync(outfile, { force: true });
}
