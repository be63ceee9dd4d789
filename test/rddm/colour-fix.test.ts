// The low-frequency colour fix (src/rddm/colour-fix.ts) against a float64 reference of its formula, written
// directly as 2-D sums (not separably), and its gradient (linear in the image) against the reference's transpose.
import { beforeAll, describe, expect, it } from 'vitest';
import { init, tensor, full, noGrad } from '../../src/index.js';
import { colourFix, gaussianBlur, gaussianTaps } from '../../src/rddm/colour-fix.js';
import { RddmSystem, DEFAULT_RDDM_CONFIG } from '../../src/rddm/system.js';
import type { BayerPattern } from '../../src/raw/bayer-pattern.js';
import { checkOp } from '../helpers/check-op.js';
import { linearRefOp, sparseRef } from '../reference/raw-bayer.js';
import { ref } from '../reference/ref-tensor.js';
import { binaryRef } from '../reference/elementwise.js';
import { maxDiff } from '../helpers/tensor-diff.js';

beforeAll(async () => {
  await init();
});

/** Σ over the image of g(dy)·g(dx)·x: the Gaussian of σ (radius ⌈3σ⌉, weights summing to 1), zero outside. */
function blurRef(x: Float64Array, planes: number, h: number, w: number, sigma: number): Float64Array {
  const r = Math.ceil(3 * sigma);
  const g = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const total = g.reduce((s, v) => s + v, 0);
  const out = new Float64Array(x.length);
  for (let p = 0; p < planes; p++)
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < w; xx++) {
        let s = 0;
        for (let dy = -r; dy <= r; dy++)
          for (let dx = -r; dx <= r; dx++) {
            const yy = y + dy, x2 = xx + dx;
            if (yy >= 0 && yy < h && x2 >= 0 && x2 < w) s += g[dy + r] * g[dx + r] * x[p * h * w + yy * w + x2];
          }
        out[p * h * w + y * w + xx] = s / (total * total);
      }
  return out;
}

/** image − blur(image)/blur(1) + blur(sites)/blur(masks), per colour, in float64. */
function colourFixRef(image: Float64Array, mosaic: Float64Array, n: number, h: number, w: number, pattern: BayerPattern, sigma: number) {
  const ones = blurRef(new Float64Array(h * w).fill(1), 1, h, w, sigma);
  const patterns = Array(n).fill(pattern);
  const sites = blurRef(sparseRef(mosaic, n, h, w, patterns), 3 * n, h, w, sigma);
  const masks = blurRef(sparseRef(new Float64Array(n * h * w).fill(1), n, h, w, patterns), 3 * n, h, w, sigma);
  const highPass = (v: Float64Array) => {
    const b = blurRef(v, 3 * n, h, w, sigma);
    return v.map((x, i) => x - b[i] / ones[i % (h * w)]);
  };
  return { highPass, want: sites.map((s, i) => s / masks[i]) };
}

describe('colour fix', () => {
  it('gaussianTaps are a normalised Gaussian over radius ⌈3σ⌉', () => {
    const t = gaussianTaps(1.5);
    expect(t.length).toBe(11);
    expect(t.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 6);
    expect(t[5] / t[6]).toBeCloseTo(Math.exp(1 / (2 * 1.5 * 1.5)), 5);
  });

  it('gaussianBlur equals the 2-D sum with zeros outside, gradient included', async () => {
    const [n, c, h, w, sigma] = [2, 3, 7, 10, 1.3];
    await checkOp('gaussianBlur', {
      inputs: [[n, c, h, w]],
      engine: (x) => gaussianBlur(x, sigma),
      reference: (x) => linearRefOp('blur', x, x.shape, (v) => blurRef(v, n * c, h, w, sigma)),
      grad: true,
    });
  });

  it('colourFix equals its formula in float64 for every pattern, gradient to the image included', async () => {
    const [n, h, w, sigma] = [2, 10, 12, 1.7];
    for (const pattern of ['RGGB', 'GBRG'] as BayerPattern[]) {
      const mosaicValues = Float64Array.from({ length: n * h * w }, (_, i) => 0.2 + 0.5 * Math.abs(Math.sin(i * 1.37)));
      await checkOp(`colourFix ${pattern}`, {
        inputs: [[n, 3, h, w], { value: ref([n, 1, h, w], mosaicValues), grad: false }],
        engine: (img, m) => colourFix(img, m, pattern, sigma),
        reference: (img) => {
          const { highPass, want } = colourFixRef(img.data, mosaicValues, n, h, w, pattern, sigma);
          return binaryRef('add', linearRefOp('highPass', img, img.shape, highPass), ref(img.shape, want));
        },
        grad: true,
        atol: 2e-5,
      });
    }
  });

  it('takes a flat image to the mosaic’s colour and keeps detail that has no low-frequency part', async () => {
    const [h, w] = [16, 16];
    // Mosaic of a flat colour (0.1, 0.3, 0.6) for RGGB; image: a flat wrong colour plus a ±0.05 checkerboard.
    const colour = [0.1, 0.3, 0.6], wrong = [0.5, 0.2, 0.1];
    const site = (y: number, x: number) => 'RGB'.indexOf('RGGB'[(y & 1) * 2 + (x & 1)]);
    const m = tensor(Float32Array.from({ length: h * w }, (_, i) => colour[site(Math.floor(i / w), i % w)]), [1, 1, h, w]);
    const sign = (i: number) => ((Math.floor(i / w) + i) & 1 ? 0.05 : -0.05);
    const checker = Float32Array.from({ length: 3 * h * w }, (_, i) => wrong[Math.floor(i / (h * w))] + sign(i % (h * w)));
    const img = tensor(checker, [1, 3, h, w]);
    const out = noGrad(() => colourFix(img, m, 'RGGB', 2));
    const d = await out.data();
    for (let c = 0; c < 3; c++) {
      // Away from the borders the checkerboard's blur is ~0, so the output is the mosaic's colour ± the checkerboard.
      const centre = 8 * w + 8;
      expect(d[c * h * w + centre] - colour[c]).toBeCloseTo(sign(centre), 2);
    }
    for (const t of [m, img, out]) t.dispose();
  });

  it('restoreOneStep applies it after matchColour when the config sets colourFixSigma', async () => {
    const sys = new RddmSystem({ ...DEFAULT_RDDM_CONFIG, vae: 'tiny-vae', unet: 'tiny-unet' });
    sys.applyLora();
    sys.eval();
    const m = full([1, 1, 16, 16], 0.2);
    const plain = noGrad(() => sys.restoreOneStep(m, 'GRBG'));
    sys.config.colourFixSigma = 1.5;
    const fixed = noGrad(() => sys.restoreOneStep(m, 'GRBG'));
    const expected = noGrad(() => colourFix(plain.image, m, 'GRBG', 1.5));
    expect(await maxDiff(fixed.image, expected)).toBeLessThan(1e-5);
    expect(await maxDiff(fixed.image, plain.image)).toBeGreaterThan(1e-3);
    for (const t of [m, plain.zL, plain.zH, plain.image, fixed.zL, fixed.zH, fixed.image, expected]) t.dispose();
  });

  it('refuses a σ out of range and mismatched shapes, naming them', () => {
    const img = full([1, 3, 8, 8], 0.5), m = full([1, 1, 8, 6], 0.5);
    expect(() => colourFix(img, m, 'RGGB', 0.1)).toThrow(/sigma must be in \[0\.5, 64\]/);
    expect(() => colourFix(img, m, 'RGGB', 2)).toThrow(/\[1,3,8,8\] and \[1,1,8,6\]/);
    img.dispose();
    m.dispose();
  });
});
