import { describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import { builtinModules } from 'node:module';

describe('browser bundle', () => {
  it('builds src/index.ts for browsers with no Node built-in reaching it', async () => {
    const result = await build({
      entryPoints: ['src/index.ts'],
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
      if (file.startsWith('src/node/') || file.includes('/src/cli/')) offenders.push(`${file} is Node-only code`);
    }
    expect(offenders).toEqual([]);
    const js = result.outputFiles[0].text;
    expect(js).toContain('navigator');
    expect(js.length).toBeGreaterThan(10_000);
  });
});
