import { beforeAll, describe, expect, it } from 'vitest';
import { init, tensor } from '../../src/index.js';
import { BAYER_PATTERNS, bayerColorAt, cropPattern, flipPatternH, flipPatternV, patternsPerImage, type BayerPattern } from '../../src/raw/bayer-pattern.js';
import { cropBayer, demosaicBilinear, mosaic, packBayer, sparseRGB, unpackBayer } from '../../src/raw/bayer.js';
import { demosaicRef, linearRefOp, linearVjpRef, mosaicRef, packRef, sparseRef } from '../reference/raw-bayer.js';
import { checkOp } from '../helpers/check-op.js';
import { expectClose, randomArray } from './helpers.js';

beforeAll(async () => {
  await init();
});

// One image per pattern, so every kernel call covers all four.
const ALL = BAYER_PATTERNS;

describe('Bayer patterns', () => {
  it('gives the colour index at (y%2, x%2)', () => {
    expect([0, 1, 2, 3].map((k) => bayerColorAt('RGGB', k >> 1, k & 1))).toEqual([0, 1, 1, 2]);
    expect([0, 1, 2, 3].map((k) => bayerColorAt('GBRG', k >> 1, k & 1))).toEqual([1, 2, 0, 1]);
    expect(bayerColorAt('BGGR', 5, 7)).toBe(0);
  });
  it('re-patterns by a one-pixel crop and by flips', () => {
    expect(cropPattern('RGGB', 0, 1)).toBe('GRBG');
    expect(cropPattern('RGGB', 1, 0)).toBe('GBRG');
    expect(cropPattern('RGGB', 1, 1)).toBe('BGGR');
    expect(cropPattern('GRBG', 2, 4)).toBe('GRBG');
    for (const p of ALL) for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) {
      const q = cropPattern(p, dy, dx);
      for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) expect(bayerColorAt(q, y, x)).toBe(bayerColorAt(p, y + dy, x + dx));
    }
    expect(flipPatternH('RGGB', 8)).toBe('GRBG');
    expect(flipPatternH('RGGB', 7)).toBe('RGGB');
    expect(flipPatternV('RGGB', 4)).toBe('GBRG');
  });
  it('rejects unknown patterns and wrong counts with a clear message', () => {
    expect(() => patternsPerImage('mosaic', 'RGBG' as BayerPattern, 1)).toThrow(/RGGB, BGGR, GRBG, GBRG/);
    expect(() => patternsPerImage('mosaic', ['RGGB'], 2)).toThrow(/1 Bayer patterns for a batch of 2/);
  });
});

describe('Bayer ops vs float64 reference (all four patterns)', () => {
  const n = 4;

  // checkOp: forward and gradient against the reference (its transpose, exact for these linear maps), no leaks.
  it('mosaic and sparseRGB, forward and gradient', async () => {
    const [h, w] = [5, 7];
    await checkOp('mosaic', {
      inputs: [[n, 3, h, w]],
      engine: (x) => mosaic(x, ALL),
      reference: (x) => linearRefOp('mosaic', x, [n, 1, h, w], (v) => mosaicRef(v, n, h, w, ALL)),
      grad: true,
      atol: 1e-6,
    });
    await checkOp('sparseRGB', {
      inputs: [[n, 1, h, w]],
      engine: (x) => sparseRGB(x, ALL),
      reference: (x) => linearRefOp('sparseRGB', x, [n, 3, h, w], (v) => sparseRef(v, n, h, w, ALL)),
      grad: true,
      atol: 1e-6,
    });
  });

  it('bilinear demosaic, forward and gradient, odd and minimal sizes', async () => {
    for (const [h, w] of [[5, 7], [2, 2], [3, 2], [6, 9]]) {
      await checkOp(`demosaicBilinear ${h}x${w}`, {
        inputs: [[n, 1, h, w]],
        engine: (x) => demosaicBilinear(x, ALL),
        reference: (x) => linearRefOp('demosaic', x, [n, 3, h, w], (v) => demosaicRef(v, n, h, w, ALL)),
        grad: true,
        atol: 1e-6,
        gradAtol: 1e-5,
      });
    }
  });

  it('pack / unpack: planes in raster tile order, forward and gradient', async () => {
    const [h, w] = [6, 10];
    await checkOp('packBayer', {
      inputs: [[2, 1, h, w]],
      engine: packBayer,
      reference: (x) => linearRefOp('pack', x, [2, 4, h / 2, w / 2], (v) => packRef(v, 2, h, w)),
      grad: true,
      atol: 1e-6,
    });
    // unpack is pack's inverse (a permutation), so its reference is the transpose of pack.
    await checkOp('unpackBayer', {
      inputs: [[2, 4, h / 2, w / 2]],
      engine: unpackBayer,
      reference: (x) => linearRefOp('unpack', x, [2, 1, h, w], (v) => linearVjpRef((u) => packRef(u, 2, h, w), v.length, v)),
      grad: true,
      atol: 1e-6,
    });
    const m = randomArray(8, 2 * h * w);
    expectClose(await unpackBayer(packBayer(tensor(m, [2, 1, h, w]))).data(), m, 0, 0, 'unpack(pack)');
    expect(() => packBayer(tensor(m.subarray(0, 2 * 5 * 12), [2, 1, 5, 12]))).toThrow(/even/);
  });

  it('one pattern for the whole batch', async () => {
    const rgb = randomArray(3, 2 * 3 * 4 * 4);
    for (const p of ALL) {
      const y = await mosaic(tensor(rgb, [2, 3, 4, 4]), p).data();
      expectClose(y, mosaicRef(rgb, 2, 4, 4, [p, p]), 0, 0, `mosaic ${p}`);
    }
  });

  it('demosaic reproduces a flat colour and a linear ramp exactly', async () => {
    const [hh, ww] = [6, 8];
    const rgb = new Float32Array(n * 3 * hh * ww);
    for (let b = 0; b < n; b++) for (let c = 0; c < 3; c++) for (let y = 0; y < hh; y++) for (let x = 0; x < ww; x++) {
      rgb[((b * 3 + c) * hh + y) * ww + x] = 0.1 * (c + 1) + 0.01 * x + 0.02 * y;
    }
    const out = await demosaicBilinear(mosaic(tensor(rgb, [n, 3, hh, ww]), ALL), ALL).data();
    // Interior pixels (mirroring bends the ramp at the border).
    for (let b = 0; b < n; b++) for (let c = 0; c < 3; c++) for (let y = 1; y < hh - 1; y++) for (let x = 1; x < ww - 1; x++) {
      const i = ((b * 3 + c) * hh + y) * ww + x;
      expect(Math.abs(out[i] - rgb[i])).toBeLessThan(1e-6);
    }
  });

  it('cropBayer: mosaic of a crop = crop of the mosaic with the shifted pattern', async () => {
    const [hh, ww] = [6, 8];
    const rgb = randomArray(10, n * 3 * hh * ww);
    const full = mosaic(tensor(rgb, [n, 3, hh, ww]), ALL);
    for (const [top, left] of [[0, 1], [1, 0], [1, 1], [2, 3]]) {
      const { image, pattern } = cropBayer(full, ALL, top, left, 4, 4);
      const rgbCrop = cropBayer(tensor(rgb, [n, 3, hh, ww]), ALL, top, left, 4, 4).image;
      const again = await mosaic(rgbCrop, pattern).data();
      expectClose(await image.data(), again, 0, 0, `crop (${top},${left})`);
    }
    expect(cropBayer(full, 'RGGB', 0, 1).pattern).toBe('GRBG');
    expect(() => cropBayer(full, ALL, 4, 0, 4, 4)).toThrow(/do not fit/);
  });

  it('names the expected shape in errors', () => {
    expect(() => mosaic(tensor(randomArray(1, 12), [1, 1, 3, 4]), 'RGGB')).toThrow(/\[N,3,H,W\], got \[1,1,3,4\]/);
    expect(() => demosaicBilinear(tensor(randomArray(1, 3), [1, 1, 1, 3]), 'RGGB')).toThrow(/at least 2x2/);
  });
});
