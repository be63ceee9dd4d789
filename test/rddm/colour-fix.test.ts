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
import { parseRddmManifest } from '../../src/rddm/manifest.js';

beforeAll(async () => {
  await init();
});

/**
 * Σ over the image of g(dy)·g(dx)·x: the Gaussian of σ (radius ⌈3σ⌉, weights summing to 1), zero outside; with
 * power 2, of the squared weights.
 */
function blurRef(x: Float64Array, planes: number, h: number, w: number, sigma: number, power = 1): Float64Array {
  const r = Math.ceil(3 * sigma);
  const raw = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const norm = raw.reduce((s, v) => s + v, 0);
  const g = raw.map((v) => (v / norm) ** power);
  const total = 1;
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

/** The fix with the Wiener-blended band from `band` to `sigma` (src/rddm/colour-fix.ts, bandBlend), in float64. */
function bandFixRef(image: Float64Array, mosaic: Float64Array, h: number, w: number, pattern: BayerPattern, sigma: number, band: number): Float64Array {
  const P = h * w, k = 0.75;
  const sites = sparseRef(mosaic, 1, h, w, [pattern]);
  const masks = sparseRef(new Float64Array(P).fill(1), 1, h, w, [pattern]);
  const blur = (x: Float64Array, s: number, power = 1) => blurRef(x, 3, h, w, s, power);
  const ones = new Float64Array(3 * P).fill(1);
  const quot = (a: Float64Array, b: Float64Array) => a.map((v, i) => v / b[i]);
  const [imgLow, sitesLow] = [quot(blur(image, sigma), blur(ones, sigma)), quot(blur(sites, sigma), blur(masks, sigma))];
  const [imgMid, sitesMid] = [quot(blur(image, band), blur(ones, band)), quot(blur(sites, band), blur(masks, band))];
  const residual = quot(blur(sites.map((v, i) => (v - masks[i] * image[i]) ** 2), sigma), blur(masks, sigma));
  const keep = quot(blur(masks, band, 2), blur(masks, band).map((v) => v * v));
  const diff = quot(blur(sitesMid.map((v, i) => (v - sitesLow[i] - imgMid[i] + imgLow[i]) ** 2), sigma), blur(ones, sigma));
  return image.map((v, i) => {
    const wt = Math.min(1, Math.max(0, 1 - (k * residual[i] * keep[i]) / (diff[i] + 1e-12)));
    return v - imgMid[i] + wt * (sitesMid[i] - sitesLow[i]) + (1 - wt) * (imgMid[i] - imgLow[i]) + sitesLow[i];
  });
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

  it('with a band, blends it per pixel by the Wiener weight of its formula in float64', async () => {
    const [h, w, sigma, band] = [14, 16, 3, 1];
    const mosaic = Float64Array.from({ length: h * w }, (_, i) => 0.3 + 0.2 * Math.sin(i * 0.7) + 0.05 * Math.cos(i * 2.9));
    const image = Float64Array.from({ length: 3 * h * w }, (_, i) => 0.3 + 0.25 * Math.sin(i * 0.31) * Math.cos(i * 0.013));
    const [x, m] = [tensor(Float32Array.from(image), [1, 3, h, w]), tensor(Float32Array.from(mosaic), [1, 1, h, w])];
    const out = noGrad(() => colourFix(x, m, 'BGGR', sigma, band));
    const want = bandFixRef(image, mosaic, h, w, 'BGGR', sigma, band);
    const got = await out.data();
    const worst = got.reduce((e, v, i) => Math.max(e, Math.abs(v - want[i])), 0);
    expect(worst).toBeLessThan(1e-4);
    // The blend changes the result: the band is not simply the output's.
    const plain = noGrad(() => colourFix(x, m, 'BGGR', sigma));
    expect(await maxDiff(out, plain)).toBeGreaterThan(1e-3);
    for (const t of [x, m, out, plain]) t.dispose();
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

  it('manifests carry σ and the band, checked against each other', () => {
    const manifest = (extra: object) =>
      JSON.stringify({ format: 'rddm-weights-1', config: { vae: 'tiny-vae', unet: 'tiny-unet', latentScale: 1, timestep: 250, loraRank: 4, ...extra }, files: {} });
    const ok = parseRddmManifest(manifest({ colourFixSigma: 6, colourFixBand: 1.5 }), 'm.json').config;
    expect([ok.colourFixSigma, ok.colourFixBand]).toEqual([6, 1.5]);
    expect(parseRddmManifest(manifest({ colourFixSigma: 0 }), 'm.json').config.colourFixSigma).toBe(0); // off
    expect(() => parseRddmManifest(manifest({ colourFixSigma: 0.2 }), 'm.json')).toThrow(/config\.colourFixSigma/);
    expect(() => parseRddmManifest(manifest({ colourFixSigma: 6, colourFixBand: 6 }), 'm.json')).toThrow(/config\.colourFixBand.*must be below colourFixSigma \(6\)/);
    expect(() => parseRddmManifest(manifest({ colourFixBand: 1.5 }), 'm.json')).toThrow(/config\.colourFixBand.*below colourFixSigma \(absent\)/);
  });

  it('refuses a σ out of range and mismatched shapes, naming them', () => {
    const img = full([1, 3, 8, 8], 0.5), m = full([1, 1, 8, 6], 0.5);
    expect(() => colourFix(img, m, 'RGGB', 0.1)).toThrow(/sigma must be in \[0\.5, 64\]/);
    expect(() => colourFix(img, m, 'RGGB', 2)).toThrow(/\[1,3,8,8\] and \[1,1,8,6\]/);
    expect(() => colourFix(img, img.slice(1, 0, 1), 'RGGB', 2, 3)).toThrow(/bandSigma must be 0 \(off\) or in \[0\.5, sigma = 2\)/);
    img.dispose();
    m.dispose();
  });
});
