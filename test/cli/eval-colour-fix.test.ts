// `rddm eval --colour-fix SIGMA` overrides the weights' low-frequency colour fix for the RDDM rows and records it.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { writeEvalPhoto } from '../helpers/eval-photo.js';

const dir = mkdtempSync(join(tmpdir(), 'rddm-eval-colour-fix-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('rddm eval --colour-fix', () => {
  it('changes the RDDM scores and writes the σ used into the JSON', async () => {
    // A colour gradient with edges: low frequencies for the fix to take from the mosaic, detail for the model.
    const photos = await writeEvalPhoto(dir, 'gradient', (x, y) => [40 + 3 * x, 60 + 2 * y, (x ^ y) & 8 ? 200 : 80]);
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
