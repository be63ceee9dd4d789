import { beforeAll, describe, expect, it } from 'vitest';
import { init } from '../../src/index.js';
import { ComparisonGrid } from '../../src/eval/comparison-grid.js';
import { averageOverPatterns, BUILTIN_METHODS, evaluate, formatEvalTable, noiseFreeBilinearMethod, type RestoreMethod } from '../../src/eval/evaluate.js';
import { decodePng } from '../../src/io/png.js';
import { BAYER_PATTERNS } from '../../src/raw/bayer-pattern.js';
import type { SrgbImage } from '../../src/raw/synth-batch.js';

beforeAll(async () => {
  await init();
});

/** Textured test photos: stripes and a smooth colour ramp, values inside (0, 1). */
function photo(seed: number, width: number, height: number): SrgbImage {
  const data = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const k = (y * width + x) * 3;
      const stripe = Math.sin((x + 2 * y) / (2 + seed)) > 0 ? 0.25 : 0;
      data[k] = 0.2 + 0.5 * (x / width) + stripe;
      data[k + 1] = 0.3 + 0.3 * (y / height) + stripe * 0.5;
      data[k + 2] = 0.6 - 0.4 * ((x + y) / (width + height));
    }
  return { data, width, height };
}

const photos = [photo(1, 40, 36), photo(2, 36, 44)];
const methods = { ...BUILTIN_METHODS, 'noise-free bilinear': noiseFreeBilinearMethod };

describe('evaluate', () => {
  it('returns one row of finite scores per method and pattern, deterministically for a seed', async () => {
    const grid = new ComparisonGrid(3);
    const opts = { photos, seed: 11, crop: 32, methods, batchSize: 1 };
    const rows = await evaluate({ ...opts, grid });
    expect(rows.map((r) => `${r.method}/${r.pattern}`)).toEqual(Object.keys(methods).flatMap((m) => BAYER_PATTERNS.map((p) => `${m}/${p}`)));
    for (const r of rows) {
      expect(r.images).toBe(2);
      for (const k of ['psnr_srgb', 'psnr_linear'] as const) expect(r[k]).toBeGreaterThan(10);
      for (const k of ['ssim_srgb', 'ssim_linear'] as const) expect(r[k] > 0 && r[k] <= 1).toBe(true);
      expect(Object.values(r).every((v) => typeof v === 'string' || Number.isFinite(v))).toBe(true);
    }
    // The same pairs for another batching; the same numbers.
    const calls: [number, number][] = [];
    const again = await evaluate({ ...opts, batchSize: 2, onBatch: (done, total) => void calls.push([done, total]) });
    // Progress: one call per batch, 4 patterns x one batch of the 2 photos.
    expect(calls).toEqual([1, 2, 3, 4].map((d) => [d, 4]));
    again.forEach((r, i) => {
      for (const k of ['psnr_srgb', 'ssim_srgb', 'psnr_linear', 'ssim_linear'] as const) expect(r[k]).toBeCloseTo(rows[i][k], 9);
    });
    const other = await evaluate({ ...opts, seed: 12 });
    expect(other[0].psnr_srgb).not.toBeCloseTo(rows[0].psnr_srgb, 6);

    const avg = averageOverPatterns(rows);
    expect(avg.map((r) => r.method)).toEqual(Object.keys(methods));
    expect(avg[0].images).toBe(8);
    expect(formatEvalTable(avg)).toMatch(/\| classical \| all \|/);

    // 3 rows (the grid's limit) of LQ bilinear, 3 methods, HQ: 5 tiles of 32 px with 4 px gaps.
    expect(grid.columns).toEqual(['LQ bilinear', 'bilinear', 'classical', 'noise-free bilinear', 'HQ']);
    const png = await decodePng(await grid.encode());
    expect([png.width, png.height, png.channels]).toEqual([5 * 32 + 6 * 4, 3 * 32 + 4 * 4, 3]);
  });

  it('names a method that returns the wrong shape', async () => {
    const mosaicOnly: RestoreMethod = async (b) => b.lq.clone();
    await expect(evaluate({ photos: photos.slice(0, 1), seed: 1, crop: 16, patterns: ['RGGB'], methods: { mosaicOnly } })).rejects.toThrow(/method "mosaicOnly" returned \[1,1,16,16\]/);
    await expect(evaluate({ photos, seed: 1, crop: 16, methods: {} })).rejects.toThrow(/no methods/);
  });
});
