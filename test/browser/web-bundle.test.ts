import { describe, expect, it } from 'vitest';
import { browserBundle } from '../helpers/browser-bundle.js';

describe('web demo bundle', () => {
  it('bundles web/main.ts for browsers with no Node built-in and no Node-only module reaching it', async () => {
    const { result, offenders } = await browserBundle('web/main.ts');
    expect(offenders).toEqual([]);
    const inputs = Object.keys(result.metafile.inputs);
    // The page runs the same restorer and training loop as the CLI, not copies of them.
    for (const f of ['src/rddm/restore.ts', 'src/rddm/weights.ts', 'src/raw/read-raw.ts', 'src/train/loop.ts', 'src/rddm/tasks.ts', 'src/io/png.ts']) expect(inputs).toContain(f);
  });

  it('bundles the LibRaw worker (web/libraw-worker.ts) with libraw-wasm and no Node built-in', async () => {
    const { result, offenders } = await browserBundle('web/libraw-worker.ts');
    expect(offenders).toEqual([]);
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs).toContain('node_modules/libraw-wasm/dist/libraw.js');
    expect(inputs).toContain('src/raw/libraw-reader.ts');
  });
});
