// `rddm eval --degrade-prob P` evaluates on pairs blurred and resized as in training; the default is noise + mosaic.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { writeEvalPhoto } from '../helpers/eval-photo.js';

const dir = mkdtempSync(join(tmpdir(), 'rddm-eval-degrade-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('rddm eval --degrade-prob', () => {
  it('scores degraded pairs lower than clean ones, records P in the JSON, and refuses a bad P', async () => {
    // Fine stripes: blur and down-scaling remove them, so the degraded pairs must score lower.
    const photos = await writeEvalPhoto(dir, 'stripes', (x) => (x % 4 < 2 ? [200, 200, 200] : [60, 60, 60]));
    const quiet = vi.spyOn(console, 'log').mockImplementation(() => {});
    const score = async (extra: string[], json: string) => {
      expect(await runCli(['eval', '--data', photos, '--methods', 'bilinear', '--patterns', 'RGGB', '--crop', '48', '--crops-per-image', '4', '--json', json, ...extra])).toBe(0);
      return JSON.parse(readFileSync(json, 'utf8'));
    };
    try {
      const clean = await score([], join(dir, 'clean.json'));
      const degraded = await score(['--degrade-prob', '1'], join(dir, 'degraded.json'));
      expect([clean.degradeProb, degraded.degradeProb]).toEqual([0, 1]);
      expect(degraded.rows[0].psnr_linear).toBeLessThan(clean.rows[0].psnr_linear - 1);
    } finally {
      quiet.mockRestore();
    }
    expect(await runCli(['eval', '--data', photos, '--degrade-prob', '2'])).toBe(2);
  }, 60_000);
});
