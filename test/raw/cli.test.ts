// `rddm info` and `rddm decode`, run in-process through their Command objects.

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { decode } from '../../src/cli/commands/decode.js';
import { info } from '../../src/cli/commands/info.js';
import { UsageError } from '../../src/cli/command.js';
import { decodePgm } from '../../src/io/pgm.js';
import { writeDng } from '../../src/raw/dng-writer.js';
import { cam2rgbFromXyz2cam } from '../../src/raw/color-matrix.js';
import { builtinColor } from '../../src/raw/camera-table.js';
import { syntheticMosaic } from '../helpers/test-raw.js';

const dir = mkdtempSync(join(tmpdir(), 'rddm-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const mosaic = syntheticMosaic(30, 24, 12, 8);
const dngPath = join(dir, 'in.dng');
writeFileSync(
  dngPath,
  writeDng({
    make: 'Test',
    model: 'Cam',
    width: 30,
    height: 24,
    mosaic,
    cfaPattern: 'BGGR',
    blackLevel: [10, 11, 12, 13],
    whiteLevel: 4095,
    asShotWB: [1.5, 1, 2],
    cam2rgb: cam2rgbFromXyz2cam(builtinColor('Canon', 'EOS 30D')!.xyz2cam)!,
  }),
);

async function capture(run: () => Promise<number>): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    return { code: await run(), out: lines.join('\n') };
  } finally {
    spy.mockRestore();
    err.mockRestore();
  }
}

describe('rddm info / decode', () => {
  it('info --json prints the metadata', async () => {
    const { code, out } = await capture(() => info.run([dngPath, '--json']));
    expect(code).toBe(0);
    const meta = JSON.parse(out);
    expect(meta).toMatchObject({ make: 'Test', model: 'Cam', width: 30, height: 24, cfaPattern: 'BGGR', blackLevel: [10, 11, 12, 13], whiteLevel: 4095, bitDepth: 16 });
    expect(meta.cam2rgb).toHaveLength(3);
    const table = await capture(() => info.run([dngPath]));
    expect(table.out).toMatch(/CFA pattern\s+BGGR/);
  });

  it('decode writes the mosaic as a 16-bit PGM, atomically (no temp file left)', async () => {
    const out = join(dir, 'm.pgm');
    expect((await capture(() => decode.run([dngPath, '-o', out]))).code).toBe(0);
    const pgm = decodePgm(new Uint8Array(readFileSync(out)));
    expect([pgm.width, pgm.height, pgm.maxval]).toEqual([30, 24, 65535]);
    expect(pgm.data).toEqual(mosaic);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('reports usage errors', async () => {
    await expect(decode.run([dngPath])).rejects.toThrow(UsageError);
    await expect(info.run([])).rejects.toThrow(UsageError);
  });
});
