import { beforeAll, describe, expect, it } from 'vitest';
import { init, avgPool2d, tensor, timestepEmbedding, upsampleNearest2d } from '../../src/index.js';
import { checkOp } from '../helpers/check-op.js';
import { avgPool2dRef, timestepEmbeddingRef, upsampleNearest2dRef } from '../reference/resample.js';

beforeAll(async () => {
  await init();
});

describe('upsampleNearest2d', () => {
  for (const [shape, scale] of [
    [[2, 3, 3, 5], 2],
    [[1, 2, 4, 3], 3],
    [[1, 1, 3, 2], [2, 3]],
  ] as const) {
    it(`scale ${JSON.stringify(scale)} on [${shape}]: forward and gradient match the float64 reference`, async () => {
      await checkOp(`upsample ${JSON.stringify(scale)}`, {
        inputs: [shape],
        engine: (x) => upsampleNearest2d(x, scale),
        reference: (x) => upsampleNearest2dRef(x, scale),
        grad: true,
        atol: 1e-6,
        rtol: 1e-6,
      });
    });
  }

  it('rejects non-integer scales and non-4-D inputs', () => {
    const x = tensor([1, 2, 3, 4], [1, 1, 2, 2]);
    expect(() => upsampleNearest2d(x, 1.5)).toThrow(/upsampleNearest2d: scale must be a positive integer/);
    const v = tensor([1, 2, 3]);
    expect(() => upsampleNearest2d(v, 2)).toThrow(/input must be \[N, C, H, W\], got shape \[3\]/);
    x.dispose();
    v.dispose();
  });
});

describe('avgPool2d', () => {
  it('averages 2x2 blocks', async () => {
    const x = tensor([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [1, 1, 4, 4]);
    const y = avgPool2d(x, 2);
    expect(Array.from(await y.data())).toEqual([3.5, 5.5, 11.5, 13.5]);
    x.dispose();
    y.dispose();
  });

  for (const [shape, k, s, p] of [
    [[2, 3, 8, 6], 2, 2, 0],
    [[1, 2, 7, 9], 2, 2, 0],
    [[1, 2, 7, 8], 3, 2, 1],
    [[2, 1, 9, 7], [3, 2], [2, 1], [1, 0]],
  ] as const) {
    it(`kernel ${JSON.stringify(k)} stride ${JSON.stringify(s)} padding ${JSON.stringify(p)} on [${shape}]: forward and gradient match the reference`, async () => {
      await checkOp(`avgpool ${JSON.stringify([k, s, p])}`, {
        inputs: [shape],
        engine: (x) => avgPool2d(x, k, s, p),
        reference: (x) => avgPool2dRef(x, k, s, p),
        grad: true,
        atol: 1e-6,
        rtol: 1e-5,
      });
    });
  }

  it('names the problem with a kernel larger than the input', () => {
    const x = tensor([1, 2, 3, 4], [1, 1, 2, 2]);
    expect(() => avgPool2d(x, 3)).toThrow(/avgPool2d: kernel 3x3 is larger than the padded input 2x2 \(shape \[1,1,2,2\]\)/);
    x.dispose();
  });
});

describe('timestepEmbedding', () => {
  const ts = [0, 1, 17, 500, 999];
  for (const o of [
    { dim: 32, flipSinToCos: true, downscaleFreqShift: 0 },
    { dim: 320, flipSinToCos: true, downscaleFreqShift: 0 },
    { dim: 33, flipSinToCos: false, downscaleFreqShift: 1 },
    { dim: 16, flipSinToCos: true, downscaleFreqShift: 0, scale: 2, maxPeriod: 1000 },
  ]) {
    it(`equals diffusers get_timestep_embedding (${JSON.stringify(o)})`, async () => {
      const { dim, ...opts } = o;
      const e = timestepEmbedding(ts, dim, opts);
      expect(e.shape).toEqual([ts.length, dim]);
      const want = timestepEmbeddingRef(ts, dim, opts);
      const got = await e.data();
      e.dispose();
      // Same float32 arguments as PyTorch; sin/cos of arguments up to 999 rad in float32 lose ~1e-4.
      for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - want.data[i])).toBeLessThan(2e-4);
      if (dim % 2) for (let r = 0; r < ts.length; r++) expect(got[r * dim + dim - 1]).toBe(0);
    });
  }

  it('takes a timestep tensor and puts cos first for SD (flip_sin_to_cos)', async () => {
    const t = tensor([0, 10]);
    const e = timestepEmbedding(t, 8);
    const v = await e.data();
    expect(Array.from(v.slice(0, 8))).toEqual([1, 1, 1, 1, 0, 0, 0, 0]);
    expect(v[8]).toBeCloseTo(Math.cos(10), 5);
    expect(v[12]).toBeCloseTo(Math.sin(10), 5);
    t.dispose();
    e.dispose();
  });
});
