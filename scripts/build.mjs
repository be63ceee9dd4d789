#!/usr/bin/env node
// Builds dist/index.js (Node library), dist/cli.js (the `rddm` command).
import { build } from 'esbuild';
import { nodeOptions } from './esbuild-options.mjs';

const common = { ...nodeOptions, sourcemap: true };
await build({ ...common, entryPoints: ['src/index.ts'], outfile: 'dist/index.js' });
await build({ ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js' });
console.log('built dist/index.js, dist/cli.js');
