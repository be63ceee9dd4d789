// `rddm eval --degrade-prob P` evaluates on pairs blurred and resized as in training; the default is noise + mosaic.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { encodePng } from '../../src/io/png.js';

const dir = mkdtempSync(join(tmpdir(), 'rddm-eval-degrade-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('rddm eval --degrade-prob', () => {
  it('scores degraded pairs lower than clean ones, records P in the JSON, and refuses a bad P', async () => {
    const size = 64;
    const data = new Uint8Array(size * size * 3);
    // Fine stripes: blur and down-scaling remove them, so the degraded pairs must score lower.
    for (let i = 0; i < size * size; i++) data.fill((i % size) % 4 < 2 ? 200 : 60, 3 * i, 3 * i + 3);
    const photos = join(dir, 'photos');
    mkdirSync(photos);
    writeFileSync(join(photos, 'stripes.png'), await encodePng({ data, width: size, height: size, channels: 3, bitDepth: 8 }));
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
