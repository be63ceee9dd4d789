import { beforeAll, describe, expect, it } from 'vitest';
import { init, tensor } from '../../src/index.js';
import { sampleCameraBatch, type CameraParams } from '../../src/raw/camera-params.js';
import { iptp } from '../../src/raw/iptp.js';
import { ptp, ptpTensors } from '../../src/raw/ptp.js';
import { iptpPixel, perPixel, ptpPixel, ptpPixelVjp } from '../reference/raw-isp.js';
import { expectClose, randomArray } from './helpers.js';

beforeAll(async () => {
  await init();
});

const [N, H, W] = [3, 6, 7];
const HW = H * W;
const cams: CameraParams[] = sampleCameraBatch(11, N);

describe('IPTP / PTP vs float64 reference', () => {
  it('IPTP forward, including highlights and out-of-range input', async () => {
    const y = randomArray(21, N * 3 * HW, -0.05, 1.05);
    const out = await iptp(tensor(y, [N, 3, H, W]), cams).data();
    const ref = perPixel(y, N, HW, (px, b) => iptpPixel(px, cams[b]).x);
    expectClose(out, ref, 2e-6, 1e-5, 'iptp');
  });

  it('IPTP is differentiable: engine gradient vs finite differences of the reference', async () => {
    const y = randomArray(29, N * 3 * HW, 0.05, 0.95);
    const g = randomArray(30, y.length, -1, 1);
    const yt = tensor(y, [N, 3, H, W], { requiresGrad: true });
    await iptp(yt, cams).backward({ grad: tensor(g, [N, 3, H, W]) });
    const dy = await yt.grad!.data();
    const eps = 1e-6;
    let checked = 0;
    for (let b = 0; b < N; b++)
      for (let i = 0; i < HW; i++) {
        const idx = [0, 1, 2].map((c) => (b * 3 + c) * HW + i);
        const px = idx.map((k) => y[k]);
        if (iptpPixel(px, cams[b]).clipped) continue;
        const f = (v: number[]) => iptpPixel(v, cams[b]).x.reduce((s, o, k) => s + o * g[idx[k]], 0);
        for (let c = 0; c < 3; c++) {
          const up = [...px], dn = [...px];
          up[c] += eps;
          dn[c] -= eps;
          const fd = (f(up) - f(dn)) / (2 * eps);
          expect(Math.abs(dy[idx[c]] - fd)).toBeLessThan(1e-4 + 1e-3 * Math.abs(fd));
        }
        checked++;
      }
    expect(checked).toBeGreaterThan(N * HW / 2);
  });

  it('PTP forward', async () => {
    const x = randomArray(22, N * 3 * HW, -0.1, 0.8);
    const out = await ptp(tensor(x, [N, 3, H, W]), cams).data();
    const ref = perPixel(x, N, HW, (px, b) => ptpPixel(px, cams[b]).out);
    expectClose(out, ref, 2e-6, 1e-5, 'ptp');
  });

  it('PTP(IPTP(y)) == y within 1e-4 away from clipped highlights', async () => {
    const n = 8;
    const many = sampleCameraBatch(12, n);
    const y = randomArray(23, n * 3 * HW, 0.02, 0.98);
    // A fifth of the pixels are near-white highlights, which IPTP's highlight blend or the clips alter.
    const bright = randomArray(123, y.length, 0.985, 1.0);
    for (let b = 0; b < n; b++) for (let c = 0; c < 3; c++) for (let i = 0; i < HW / 5; i++) y[(b * 3 + c) * HW + i] = bright[(b * 3 + c) * HW + i];
    const x = iptp(tensor(y, [n, 3, H, W]), many);
    const back = await ptp(x, many).data();
    const xs = await x.data();
    let clean = 0;
    let worst = 0;
    for (let b = 0; b < n; b++)
      for (let i = 0; i < HW; i++) {
        const idx = [0, 1, 2].map((c) => (b * 3 + c) * HW + i);
        const px = idx.map((k) => y[k]);
        if (iptpPixel(px, many[b]).clipped || ptpPixel(idx.map((k) => xs[k]), many[b]).clipped) continue;
        clean++;
        for (const k of idx) worst = Math.max(worst, Math.abs(back[k] - y[k]));
      }
    console.log(`PTP(IPTP(y)): ${clean} of ${n * HW} pixels unclipped, max |error| ${worst.toExponential(2)}`);
    expect(clean).toBeGreaterThan(0.6 * n * HW);
    expect(clean).toBeLessThan(0.95 * n * HW);
    expect(worst).toBeLessThan(1e-4);
  });

  it('PTP gradient: engine vs reference VJP, reference VJP vs finite differences (straight-through clip)', async () => {
    const x = randomArray(24, N * 3 * HW, -0.1, 0.9);
    const g = randomArray(25, x.length, -1, 1);
    const xt = tensor(x, [N, 3, H, W], { requiresGrad: true });
    await ptp(xt, cams).backward({ grad: tensor(g, [N, 3, H, W]) });
    const ref = perPixel(x, N, HW, (px, b, i) => ptpPixelVjp(px, cams[b], [0, 1, 2].map((c) => g[(b * 3 + c) * HW + i]), true).dx);
    expectClose(await xt.grad!.data(), ref, 1e-4, 1e-3, 'ptp grad');

    // Finite differences in float64 on the reference, at pixels no clip touches (there the clip rule is moot):
    // dim, unsaturated inputs so that most pixels qualify.
    const xs = randomArray(28, N * 3 * HW, 0.02, 0.2);
    const eps = 1e-6;
    let checked = 0;
    for (let b = 0; b < N; b++)
      for (let i = 0; i < HW; i++) {
        const px = [0, 1, 2].map((c) => xs[(b * 3 + c) * HW + i]);
        const gp = [0, 1, 2].map((c) => g[(b * 3 + c) * HW + i]);
        if (ptpPixel(px, cams[b]).clipped || px.some((v) => v < 0.01)) continue;
        const { dx } = ptpPixelVjp(px, cams[b], gp, true);
        for (let c = 0; c < 3; c++) {
          const up = [...px], dn = [...px];
          up[c] += eps;
          dn[c] -= eps;
          const f = (v: number[]) => ptpPixel(v, cams[b]).out.reduce((s, o, k) => s + o * gp[k], 0);
          const fd = (f(up) - f(dn)) / (2 * eps);
          expect(Math.abs(fd - dx[c])).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
        }
        checked++;
      }
    expect(checked).toBeGreaterThan(N * HW / 2);
  });

  it('PTP gradient reaches gains and matrices given as tensors; exact clip zeroes clipped pixels', async () => {
    const x = randomArray(26, N * 3 * HW, -0.2, 1.0);
    const g = randomArray(27, x.length, -1, 1);
    const p = ptpTensors(cams, N);
    p.cam2rgb.requiresGrad = true;
    const xt = tensor(x, [N, 3, H, W], { requiresGrad: true });
    await ptp(xt, p, { clipGradient: 'exact' }).backward({ grad: tensor(g, [N, 3, H, W]) });
    const dM = new Float64Array(N * 9);
    const dxRef = perPixel(x, N, HW, (px, b, i) => {
      const r = ptpPixelVjp(px, cams[b], [0, 1, 2].map((c) => g[(b * 3 + c) * HW + i]), false);
      r.dM.forEach((row, k) => row.forEach((v, j) => (dM[b * 9 + k * 3 + j] += v)));
      return r.dx;
    });
    expectClose(await xt.grad!.data(), dxRef, 1e-4, 1e-3, 'ptp grad (exact clip)');
    expectClose(await p.cam2rgb.grad!.data(), dM, 1e-4, 1e-3, 'ptp cam2rgb grad');
    // Some inputs are negative: with the exact clip their gradient is exactly zero.
    const gx = await xt.grad!.data();
    const zeros = [...gx].filter((v, k) => x[k] * cams[Math.floor(k / (3 * HW))].wbGains[Math.floor(k / HW) % 3] < 0 && v === 0).length;
    expect(zeros).toBeGreaterThan(0);
  });
});
