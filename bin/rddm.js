#!/usr/bin/env node
// The `rddm` command: runs from source in a checkout (bundled on the fly, so it is never stale); an installed
// package without src/ runs the built dist/cli.js.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const root = resolve(fileURLToPath(import.meta.url), '../..');
process.env.XDG_RUNTIME_DIR ??= '/tmp';
const built = resolve(root, 'dist/cli.js');
if (!existsSync(resolve(root, 'src/cli/main.ts')) && existsSync(built)) {
  await import(pathToFileURL(built).href);
} else {
  process.argv.splice(2, 0, resolve(root, 'src/cli/main.ts'));
  await import(pathToFileURL(resolve(root, 'scripts/run-ts.mjs')).href);
}
