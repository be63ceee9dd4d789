import { beforeAll, describe, expect, it } from 'vitest';
import { init, tensor } from '../../src/index.js';
import { psnr, ssim, ssimLoss, ssimWindow } from '../../src/eval/metrics.js';
import { randomArray } from '../raw-pipeline/helpers.js';

beforeAll(async () => {
  await init();
});

/** SSIM written the obvious way: a full 11×11 window at every valid pixel, (co)variances as E[(x−μ)(y−μ)]. */
function ssimDirect(a: ArrayLike<number>, b: ArrayLike<number>, C: number, H: number, W: number): number {
  const g = Array.from({ length: 11 }, (_, i) => Math.exp(-((i - 5) ** 2) / 4.5));
  const total = g.reduce((s, v) => s + v, 0) ** 2;
  let acc = 0;
  for (let c = 0; c < C; c++) {
    let s = 0;
    let n = 0;
    for (let y = 5; y < H - 5; y++)
      for (let x = 5; x < W - 5; x++) {
        const win = (f: (p: number, q: number) => number) => {
          let v = 0;
          for (let i = -5; i <= 5; i++) for (let j = -5; j <= 5; j++) v += (g[i + 5] * g[j + 5] * f(c * H * W + (y + i) * W + x + j, 0)) / total;
          return v;
        };
        const mx = win((p) => a[p]);
        const my = win((p) => b[p]);
        const vx = win((p) => (a[p] - mx) ** 2);
        const vy = win((p) => (b[p] - my) ** 2);
        const cxy = win((p) => (a[p] - mx) * (b[p] - my));
        s += ((2 * mx * my + 1e-4) * (2 * cxy + 9e-4)) / ((mx * mx + my * my + 1e-4) * (vx + vy + 9e-4));
        n++;
      }
    acc += s / n;
  }
  return acc / C;
}

/** The test pair also used (via numpy/scipy, replicating skimage's structural_similarity) for the reference values. */
function skimagePair(): { a: Float64Array; b: Float64Array; C: number; H: number; W: number } {
  const [C, H, W] = [3, 19, 24];
  const a = new Float64Array(C * H * W);
  const b = new Float64Array(C * H * W);
  for (let c = 0; c < C; c++)
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const i = (c * H + y) * W + x;
        a[i] = 0.5 + 0.4 * Math.sin(0.37 * x + 0.21 * y + c);
        b[i] = Math.min(1, Math.max(0, a[i] + 0.15 * Math.cos(1.3 * x * y + 0.7 * c) + (0.05 * (x - y)) / W));
      }
  return { a, b, C, H, W };
}

describe('psnr', () => {
  it('is 10·log10(1/δ²) for a constant offset δ and infinite for identical images', () => {
    const a = randomArray(1, 300);
    for (const d of [0.1, 0.01, 1 / 255]) expect(psnr(a.map((v) => v + d), a)).toBeCloseTo(-20 * Math.log10(d), 4);
    expect(psnr(a, a)).toBe(Infinity);
    expect(psnr(a.map((v) => v * 2), a.map((v) => v * 2 + 0.2), 2)).toBeCloseTo(20 * Math.log10(2 / 0.2), 4);
    expect(() => psnr(a, a.subarray(1))).toThrow(/differ in size/);
  });
});

describe('ssim', () => {
  it('has a normalised 11-tap window', () => {
    const w = ssimWindow();
    expect(w.length).toBe(11);
    expect(w.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
    expect(w[5] / w[4]).toBeCloseTo(Math.exp(1 / 4.5), 12);
  });

  it('is 1 for identical images and (2ab + C1)/(a² + b² + C1) for constants a, b', () => {
    const a = randomArray(2, 3 * 16 * 20);
    expect(ssim(a, a, { channels: 3, height: 16, width: 20 })).toBeCloseTo(1, 12);
    const fa = new Float64Array(12 * 13).fill(0.5);
    const fb = new Float64Array(12 * 13).fill(0.6);
    expect(ssim(fa, fb, { channels: 1, height: 12, width: 13 })).toBeCloseTo((0.6 + 1e-4) / (0.25 + 0.36 + 1e-4), 12);
  });

  it('matches a direct 2-D window implementation and skimage (computed with numpy/scipy)', () => {
    const { a, b, C, H, W } = skimagePair();
    const s = ssim(a, b, { channels: C, height: H, width: W });
    expect(s).toBeCloseTo(ssimDirect(a, b, C, H, W), 10);
    // skimage.metrics.structural_similarity(a, b, channel_axis=0, gaussian_weights=True, sigma=1.5,
    // use_sample_covariance=False, data_range=1), replicated in scipy (skimage itself is not installed).
    expect(s).toBeCloseTo(0.8129591725024276, 10);
    expect(psnr(a, b)).toBeCloseTo(19.561688965168585, 10);
    const r = randomArray(3, 2 * 14 * 17);
    const q = randomArray(4, 2 * 14 * 17);
    expect(ssim(r, q, { channels: 2, height: 14, width: 17 })).toBeCloseTo(ssimDirect(r, q, 2, 14, 17), 10);
  });

  it('rejects images smaller than the window', () => {
    expect(() => ssim(new Float32Array(100), new Float32Array(100), { channels: 1, height: 10, width: 10 })).toThrow(/larger than 10x10/);
  });
});

describe('ssimLoss (GPU)', () => {
  it('equals 1 − mean SSIM of the CPU implementation and has its gradient', async () => {
    const [N, C, H, W] = [2, 3, 13, 17];
    const av = randomArray(5, N * C * H * W);
    const bv = av.map((v, i) => Math.min(1, Math.max(0, v * 0.7 + 0.2 * Math.sin(i))));
    const a = tensor(av, [N, C, H, W], { requiresGrad: true });
    const b = tensor(bv, [N, C, H, W]);
    const cpuLoss = (x: ArrayLike<number>) => {
      let s = 0;
      const n = C * H * W;
      for (let k = 0; k < N; k++) s += ssim(Array.from(x).slice(k * n, (k + 1) * n), bv.subarray(k * n, (k + 1) * n), { channels: C, height: H, width: W });
      return 1 - s / N;
    };
    const loss = ssimLoss(a, b);
    expect(loss.shape).toEqual([]);
    expect(await loss.item()).toBeCloseTo(cpuLoss(av), 4);
    await loss.backward();
    const grad = await a.grad!.data();
    const x = Float64Array.from(av);
    const eps = 1e-5;
    for (const i of [0, 40, 333, 700, 1000, N * C * H * W - 1]) {
      const keep = x[i];
      x[i] = keep + eps;
      const up = cpuLoss(x);
      x[i] = keep - eps;
      const down = cpuLoss(x);
      x[i] = keep;
      const fd = (up - down) / (2 * eps);
      // The gradients are small (the loss averages 126 window positions): compare relatively.
      expect(Math.abs(grad[i] - fd)).toBeLessThan(1e-3 * Math.abs(fd) + 1e-10);
    }
    for (const t of [a, b, loss]) t.dispose();
  });

  it('names the shapes when they differ', () => {
    const a = tensor(new Float32Array(2 * 12 * 12), [1, 2, 12, 12]);
    const b = tensor(new Float32Array(3 * 12 * 12), [1, 3, 12, 12]);
    expect(() => ssimLoss(a, b)).toThrow(/\[1,2,12,12\] and \[1,3,12,12\]/);
  });
});
