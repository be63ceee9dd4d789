import { need } from '../helpers/requirements.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { init, tensor } from '../../src/index.js';
import { demosaicBilinear } from '../../src/raw/bayer.js';
import { bayerColorAt, type BayerPattern } from '../../src/raw/bayer-pattern.js';
import { HostRng } from '../../src/random/host-rng.js';
import { bm3d } from '../../src/eval/bm3d.js';
import { classicalRestore, denoiseMosaic } from '../../src/eval/classical-denoise.js';
import { bilinearMethod, classicalMethod, evaluate } from '../../src/eval/evaluate.js';
import { psnr } from '../../src/eval/metrics.js';
import { makeVst } from '../../src/eval/vst.js';
import { loadPhotos } from '../../src/node/load-photos.js';
import { randomArray } from '../raw-pipeline/helpers.js';

beforeAll(async () => {
  await init();
});

/** E[g(x + sd·n)], n ~ N(0, 1), by Simpson's rule over ±10 sd (independent of vst.ts's integration). */
function expectation(g: (z: number) => number, x: number, sd: number): number {
  const n = 4000;
  const h = 20 / n;
  let s = 0;
  for (let k = 0; k <= n; k++) {
    const t = -10 + k * h;
    s += (k === 0 || k === n ? 1 : k % 2 ? 4 : 2) * Math.exp(-0.5 * t * t) * g(x + sd * t);
  }
  return (s * h) / 3 / Math.sqrt(2 * Math.PI);
}

describe('variance stabilisation', () => {
  const model = { shot: 1e-2, read: 2e-4 };
  const vst = makeVst(model);
  const sd = (x: number) => Math.sqrt(model.shot * x + model.read);

  it('gives unit variance over the signal range', () => {
    for (const x of [0.1, 0.2, 0.5, 1]) {
      const m = expectation(vst.forward, x, sd(x));
      const v = expectation((z) => (vst.forward(z) - m) ** 2, x, sd(x));
      expect(Math.abs(v - 1)).toBeLessThan(0.015);
    }
  });

  it('has an unbiased inverse where the algebraic one is biased', () => {
    for (const x of [0.001, 0.01, 0.1, 0.5, 0.95]) {
      const d = expectation(vst.forward, x, sd(x));
      expect(Math.abs(vst.inverse(d) - x)).toBeLessThan(2e-5 + 1e-4 * x);
    }
    const x = 0.01;
    const d = expectation(vst.forward, x, sd(x));
    const algebraic = ((model.shot * d) / 2) ** 2 / model.shot - (model.read + (7 * model.shot ** 2) / 8) / model.shot;
    expect(x - algebraic).toBeGreaterThan(1e-3);
    expect(vst.inverse(-5)).toBe(0);
    expect(() => makeVst({ shot: -1, read: 0 })).toThrow(/non-negative/);
  });
});

describe('bm3d', () => {
  it('reconstructs its input exactly when the noise is negligible (transforms and aggregation are exact)', () => {
    const [h, w] = [21, 27];
    const chans = [0, 1, 2].map((k) => randomArray(10 + k, h * w));
    const out = bm3d(chans, h, w, 1e-6, { step: 4, searchRadius: 5 });
    chans.forEach((c, k) => out[k].forEach((v, i) => expect(Math.abs(v - c[i])).toBeLessThan(1e-4)));
  });

  it('removes most of white noise on a flat image with an edge', () => {
    const [h, w] = [32, 32];
    const rng = new HostRng(3);
    const clean = Float32Array.from({ length: h * w }, (_, i) => ((i % w) < 13 ? 10 : 20));
    const noisy = clean.map((v) => v + rng.normal());
    const [out] = bm3d([noisy], h, w, 1);
    const err = (a: Float32Array) => a.reduce((s, v, i) => s + (v - clean[i]) ** 2, 0) / a.length;
    expect(err(out)).toBeLessThan(err(noisy) / 10);
  });
});

/** A two-region mosaic (a vertical edge, different colours each side) and its RGB ground truth. */
function flatEdge(pattern: BayerPattern, size: number, model: { shot: number; read: number }, seed: number) {
  const left = [0.3, 0.5, 0.2];
  const right = [0.08, 0.15, 0.35];
  const rgb = new Float32Array(3 * size * size);
  const clean = new Float32Array(size * size);
  const rng = new HostRng(seed);
  const noisy = new Float32Array(size * size);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const col = x < size * 0.4 + y * 0.2 ? left : right;
      for (let c = 0; c < 3; c++) rgb[(c * size + y) * size + x] = col[c];
      const v = col[bayerColorAt(pattern, y, x)];
      clean[y * size + x] = v;
      noisy[y * size + x] = v + Math.sqrt(model.shot * v + model.read) * rng.normal();
    }
  return { rgb, clean, noisy };
}

describe('classical denoise + demosaic', () => {
  it('denoises a noisy flat+edge mosaic and beats the bilinear baseline after demosaicking', async () => {
    const model = { shot: 1e-2, read: 3e-4 };
    const size = 48;
    const patterns: BayerPattern[] = ['GRBG', 'BGGR'];
    const cases = patterns.map((p, k) => flatEdge(p, size, model, 20 + k));
    for (const c of cases) {
      const d = denoiseMosaic(c.noisy, size, size, patterns[cases.indexOf(c)], model);
      expect(psnr(d, c.clean)).toBeGreaterThan(psnr(c.noisy, c.clean) + 8);
    }
    const lq = tensor(Float32Array.from(cases.flatMap((c) => [...c.noisy])), [2, 1, size, size]);
    const bil = demosaicBilinear(lq, patterns);
    const cls = await classicalRestore(lq, patterns, [model, model]);
    expect(cls.shape).toEqual([2, 3, size, size]);
    const [b, c] = [await bil.data(), await cls.data()];
    const truth = Float32Array.from(cases.flatMap((x) => [...x.rgb]));
    expect(psnr(c, truth)).toBeGreaterThan(psnr(b, truth) + 6);
    for (const t of [lq, bil, cls]) t.dispose();
  });

  it('checks its inputs', async () => {
    expect(() => denoiseMosaic(new Float32Array(15 * 16), 15, 16, 'RGGB', { shot: 1e-3, read: 1e-5 })).toThrow(/even sides/);
    const lq = tensor(new Float32Array(2 * 16 * 16), [2, 1, 16, 16]);
    await expect(classicalRestore(lq, 'RGGB', [{ shot: 1e-3, read: 1e-5 }])).rejects.toThrow(/1 noise models for 2 images/);
    lq.dispose();
  });

  it('beats bilinear on real photo crops at the default noise distribution', async () => {
    need('data/photos/validation/astronaut.png');
    const photos = await loadPhotos('validation');
    const rows = await evaluate({
      photos: photos.map((p) => p.image),
      patterns: ['RGGB'],
      seed: 7,
      crop: 64,
      methods: { bilinear: bilinearMethod, classical: classicalMethod() },
    });
    const [bil, cls] = rows;
    expect(cls.method).toBe('classical');
    expect(cls.psnr_srgb).toBeGreaterThan(bil.psnr_srgb + 0.5);
    expect(cls.ssim_srgb).toBeGreaterThan(bil.ssim_srgb);
    expect(cls.psnr_linear).toBeGreaterThan(bil.psnr_linear);
  });
});
