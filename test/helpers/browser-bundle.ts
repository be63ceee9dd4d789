// Builds an entry point as the browser build does and lists every Node built-in or Node-only module that reaches it.
import { build, type BuildResult } from 'esbuild';
import { builtinModules } from 'node:module';

const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

export async function browserBundle(entry: string): Promise<{ result: BuildResult<{ write: false; metafile: true }>; offenders: string[] }> {
  const result = await build({
    entryPoints: [entry],
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
  const offenders: string[] = [];
  for (const [file, input] of Object.entries(result.metafile.inputs)) {
    for (const imp of input.imports) if (builtins.has(imp.path) || imp.path.startsWith('node:')) offenders.push(`${file} imports ${imp.path}`);
    if (file.startsWith('src/node/') || file.includes('src/cli/')) offenders.push(`${file} is Node-only code`);
  }
  return { result, offenders };
}
