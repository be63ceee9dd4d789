// `rddm eval --colour-fix SIGMA` overrides the weights' low-frequency colour fix for the RDDM rows and records it.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { encodePng } from '../../src/io/png.js';

const dir = mkdtempSync(join(tmpdir(), 'rddm-eval-colour-fix-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('rddm eval --colour-fix', () => {
  it('changes the RDDM scores and writes the σ used into the JSON', async () => {
    const size = 64;
    const data = new Uint8Array(size * size * 3);
    // A colour gradient with edges: low frequencies for the fix to take from the mosaic, detail for the model.
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) data.set([40 + 3 * x, 60 + 2 * y, (x ^ y) & 8 ? 200 : 80], 3 * (y * size + x));
    const photos = join(dir, 'photos');
    mkdirSync(photos);
    writeFileSync(join(photos, 'gradient.png'), await encodePng({ data, width: size, height: size, channels: 3, bitDepth: 8 }));
    const quiet = vi.spyOn(console, 'log').mockImplementation(() => {});
    const score = async (sigma: string) => {
      const json = join(dir, `s${sigma}.json`);
      expect(await runCli(['eval', '--data', photos, '--methods', 'rddm', '--patterns', 'GRBG', '--crop', '48', '--json', json, '--colour-fix', sigma])).toBe(0);
      return JSON.parse(readFileSync(json, 'utf8'));
    };
    try {
      const [off, on] = [await score('0'), await score('3')];
      expect([off.colourFixSigma, on.colourFixSigma]).toEqual([0, 3]);
      expect(Math.abs(on.rows[0].psnr_srgb - off.rows[0].psnr_srgb)).toBeGreaterThan(0.01);
    } finally {
      quiet.mockRestore();
    }
  }, 120_000);
});
