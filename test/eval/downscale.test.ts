import { describe, expect, it } from 'vitest';
import { downscaleArea, linearToSrgb, srgbToLinear, toRgb8 } from '../../src/eval/downscale.js';
import { downscaleAreaRef } from '../reference/photo-downscale.js';

/** A synthetic photo: 8-bit-valued samples (as decoded photos have) mixed with arbitrary floats. */
function synthetic(width: number, height: number, seed: number): Float32Array {
  const d = new Float32Array(width * height * 3);
  let s = seed;
  for (let i = 0; i < d.length; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    d[i] = i % 5 === 0 ? (s % 1000) / 999 : (s % 256) / 255;
  }
  return d;
}

describe('downscaleArea', () => {
  it('matches the float64 reference: the mean of each block in linear light, partial blocks dropped', () => {
    for (const [w, h, f] of [[7, 11, 3], [9, 4, 2], [33, 7, 7], [5, 5, 1], [6, 3, 3]] as const) {
      const data = synthetic(w, h, w * 31 + f);
      const got = downscaleArea({ data, width: w, height: h }, f);
      const ref = downscaleAreaRef(data, w, h, f);
      expect([got.width, got.height]).toEqual([ref.width, ref.height]);
      got.data.forEach((v, i) => expect(Math.abs(v - ref.data[i]!), `${w}x${h}/${f} at ${i}`).toBeLessThan(2e-6));
    }
  });

  it('keeps the linear-light mean of the covered area, and a flat image flat', () => {
    const w = 12, h = 8, f = 4, data = synthetic(w, h, 5);
    const small = downscaleArea({ data, width: w, height: h }, f);
    for (let c = 0; c < 3; c++) {
      let big = 0, sm = 0;
      for (let i = 0; i < w * h; i++) big += srgbToLinear(data[3 * i + c]!);
      for (let i = 0; i < small.width * small.height; i++) sm += srgbToLinear(small.data[3 * i + c]!);
      expect(sm / (small.width * small.height)).toBeCloseTo(big / (w * h), 6);
    }
    const flat = downscaleArea({ data: new Float32Array(6 * 4 * 3).fill(100 / 255), width: 6, height: 4 }, 2);
    flat.data.forEach((v) => expect(v).toBeCloseTo(100 / 255, 6));
    // Not a mean of the encoded values: black and white average to 50% light, which sRGB encodes as about 0.735.
    const bw = downscaleArea({ data: Float32Array.from([0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0]), width: 2, height: 2 }, 2);
    expect(bw.data[0]).toBeCloseTo(linearToSrgb(0.5), 6);
  });

  it('refuses a bad factor or an image smaller than one block', () => {
    const img = { data: new Float32Array(4 * 4 * 3), width: 4, height: 4 };
    expect(() => downscaleArea(img, 0)).toThrow(/positive integer, got 0/);
    expect(() => downscaleArea(img, 1.5)).toThrow(/positive integer/);
    expect(() => downscaleArea(img, 5)).toThrow(/4x4 image is smaller than one 5x5 block/);
  });

  it('sRGB curves are inverses, and 8-bit output rounds and clamps', () => {
    for (const v of [0, 0.002, 0.04, 0.2, 0.5, 1]) expect(srgbToLinear(linearToSrgb(v))).toBeCloseTo(v, 12);
    expect(Array.from(toRgb8({ data: Float32Array.from([-0.1, 0.5, 1.2]), width: 1, height: 1 }))).toEqual([0, 128, 255]);
  });
});
