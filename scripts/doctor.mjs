#!/usr/bin/env node
// `npm test` and `npm run demo` run this first: the GPU preflight (`rddm doctor`), from source.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const r = spawnSync(process.execPath, [resolve(root, 'scripts/run-ts.mjs'), resolve(root, 'src/cli/main.ts'), 'doctor', ...process.argv.slice(2)], {
  stdio: 'inherit',
  cwd: root,
});
process.exit(r.status ?? 1);
