import { describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import { builtinModules } from 'node:module';

describe('web demo bundle', () => {
  it('bundles web/main.ts for browsers with no Node built-in and no Node-only module reaching it', async () => {
    const result = await build({
      entryPoints: ['web/main.ts'],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      loader: { '.wgsl': 'text' },
      external: ['webgpu'],
      metafile: true,
      logLevel: 'silent',
    });
    const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
    const offenders: string[] = [];
    for (const [file, input] of Object.entries(result.metafile.inputs)) {
      for (const imp of input.imports) if (builtins.has(imp.path) || imp.path.startsWith('node:')) offenders.push(`${file} imports ${imp.path}`);
      if (file.startsWith('src/node/') || file.startsWith('src/cli/')) offenders.push(`${file} is Node-only code`);
    }
    expect(offenders).toEqual([]);
    const inputs = Object.keys(result.metafile.inputs);
    // The page runs the same restorer and training loop as the CLI, not copies of them.
    for (const f of ['src/rddm/restore.ts', 'src/rddm/weights.ts', 'src/raw/read-raw.ts', 'src/train/loop.ts', 'src/rddm/tasks.ts', 'src/io/png.ts']) expect(inputs).toContain(f);
  });
});
