import { beforeAll, describe, expect, it } from 'vitest';
import { init, tensor } from '../../src/index.js';
import { HostRng } from '../../src/random/host-rng.js';
import { blurImages, DEFAULT_DEGRADE, degrade, downUpImages, gaussianKernel, randomDegrade, sampleDegradePlan, scaledSize, type DegradePlan } from '../../src/raw/degrade.js';
import { blurRef, downUpRef, gaussianRef } from '../reference/raw-degrade.js';
import { expectClose, randomArray } from './helpers.js';

beforeAll(async () => {
  await init();
});

describe('detail degradation', () => {
  it('Gaussian kernels: rotated-axes form equals the covariance form; normalised; delta without blur', () => {
    for (const [sx, sy, th] of [[0.2, 0.2, 0], [3, 3, 0], [0.7, 2.5, 0.6], [2.9, 0.3, -2.2]]) {
      const k = gaussianKernel({ sigmaX: sx, sigmaY: sy, theta: th }, 21);
      expectClose(k, gaussianRef(sx, sy, th, 21), 1e-14, 0, `kernel ${sx},${sy},${th}`);
      expect(Math.abs(k.reduce((s, v) => s + v, 0) - 1)).toBeLessThan(1e-12);
    }
    const d = gaussianKernel(null, 5);
    expect(d[12]).toBe(1);
    expect(d.reduce((s, v) => s + v, 0)).toBe(1);
  });

  it('blur vs reference: per-image anisotropic kernels, mirrored edges, radius larger than the image', async () => {
    const shape = [3, 3, 9, 13];
    const x = randomArray(31, 3 * 3 * 9 * 13);
    const blurs = [{ sigmaX: 0.5, sigmaY: 2.5, theta: 0.8 }, null, { sigmaX: 3, sigmaY: 3, theta: 0 }];
    const kernels = blurs.map((b) => gaussianKernel(b, 21));
    const flat = new Float64Array(3 * 441);
    kernels.forEach((k, i) => flat.set(k, i * 441));
    const out = await blurImages(tensor(x, shape), flat, 21).data();
    expectClose(out, blurRef(x, shape, kernels, 21), 2e-6, 0, 'blur');
    // The image without a blur comes back unchanged.
    expectClose(out.subarray(3 * 9 * 13, 6 * 9 * 13), x.subarray(3 * 9 * 13, 6 * 9 * 13), 1e-7, 0, 'delta kernel');
  });

  it('down-up resize vs two-pass reference; scale 1 is the identity', async () => {
    const shape = [4, 3, 12, 10];
    const x = randomArray(32, 4 * 3 * 12 * 10);
    const scales = [1, 2, 3.3, 4];
    const sizes = scales.map((s) => [scaledSize(12, s), scaledSize(10, s)] as const);
    expect(sizes[3]).toEqual([3, 3]);
    const out = await downUpImages(tensor(x, shape), sizes).data();
    expectClose(out, downUpRef(x, shape, sizes), 2e-6, 0, 'down-up');
    expectClose(out.subarray(0, 360), x.subarray(0, 360), 0, 0, 'scale 1');
  });

  it('degrade = blur then resize, per image; reproducible random plans within the configured ranges', async () => {
    const shape = [2, 3, 16, 16];
    const x = randomArray(33, 2 * 3 * 256);
    const plans: DegradePlan[] = [
      { blur: { sigmaX: 1.2, sigmaY: 0.4, theta: 1 }, scale: 2.5 },
      { blur: null, scale: 1 },
    ];
    const out = await degrade(tensor(x, shape), plans).data();
    const blurred = blurRef(x, shape, plans.map((p) => gaussianKernel(p.blur, 21)), 21);
    const ref = downUpRef(blurred, shape, [[scaledSize(16, 2.5), scaledSize(16, 2.5)], [16, 16]]);
    expectClose(out, ref, 3e-6, 0, 'degrade');

    const a = randomDegrade(tensor(x, shape), 5);
    const b = randomDegrade(tensor(x, shape), 5);
    expect(a.plans).toEqual(b.plans);
    expectClose(await a.images.data(), await b.images.data(), 0, 0, 'same seed');

    const rng = new HostRng(77);
    const many = Array.from({ length: 2000 }, () => sampleDegradePlan(rng));
    const blurredFrac = many.filter((p) => p.blur).length / many.length;
    const resizedFrac = many.filter((p) => p.scale !== 1).length / many.length;
    expect(Math.abs(blurredFrac - DEFAULT_DEGRADE.blurProb)).toBeLessThan(0.04);
    expect(Math.abs(resizedFrac - DEFAULT_DEGRADE.resizeProb)).toBeLessThan(0.04);
    for (const p of many) {
      if (p.blur) for (const s of [p.blur.sigmaX, p.blur.sigmaY]) expect(s >= 0.2 && s <= 3).toBe(true);
      expect(p.scale >= 1 && p.scale <= 4).toBe(true);
    }
    expect(many.some((p) => p.blur && p.blur.sigmaX !== p.blur.sigmaY)).toBe(true);
    expect(() => degrade(tensor(x, shape), plans.slice(0, 1))).toThrow(/1 plans for a batch of 2/);
    expect(() => sampleDegradePlan(rng, { kernelSize: 20 })).toThrow(/odd/);
  });
});
