import { Tensor } from '../tensor/tensor.js';
import { shapeStr } from '../tensor/shape.js';
import { tensor } from '../ops/creation.js';
import { add, div, mul, sub } from '../ops/binary.js';
import { matmul } from '../ops/matmul.js';
import { mean } from '../ops/reduce.js';
import { concat, reshape, slice } from '../ops/shape-ops.js';
import { tidy } from '../tensor/scope.js';

/**
 * Image-quality metrics for evaluation. PSNR and SSIM on the CPU in float64 (what reports quote), and a
 * differentiable SSIM on the GPU built from engine ops (what the training loss uses).
 *
 * SSIM follows Wang et al. 2004 as scikit-image's `structural_similarity(gaussian_weights=True, sigma=1.5,
 * use_sample_covariance=False, data_range=1)`: an 11×11 Gaussian window (σ 1.5, truncated at 3.5σ → radius 5,
 * normalised), population (co)variances, K1 = 0.01, K2 = 0.03, the SSIM map averaged over the pixels at least
 * 5 from every border, then over channels. skimage filters with mode 'reflect' and crops the 5-pixel strip
 * afterwards, so no padded value ever reaches the average: a "valid" convolution gives the same number.
 */

export const SSIM_SIGMA = 1.5;
export const SSIM_RADIUS = 5;
export const SSIM_K1 = 0.01;
export const SSIM_K2 = 0.03;

/** An image as C planes of H×W (CHW order, as one image of an NCHW tensor). */
export interface PlanarShape {
  channels: number;
  height: number;
  width: number;
}

type Pixels = ArrayLike<number>;

/** The normalised 1-D Gaussian taps of the SSIM window (2·radius + 1 of them). */
export function ssimWindow(sigma = SSIM_SIGMA, radius = SSIM_RADIUS): Float64Array {
  const w = Float64Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)));
  const s = w.reduce((a, b) => a + b, 0);
  return w.map((v) => v / s);
}

function checkPair(op: string, a: Pixels, b: Pixels, n?: number): void {
  if (a.length !== b.length) throw new Error(`${op}: images differ in size (${a.length} vs ${b.length} values)`);
  if (n !== undefined && a.length !== n) throw new Error(`${op}: expected ${n} values for the given shape, got ${a.length}`);
  if (a.length === 0) throw new Error(`${op}: empty images`);
}

export function mse(a: Pixels, b: Pixels): number {
  checkPair('mse', a, b);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s / a.length;
}

/** 10·log10(range² / MSE) in dB; Infinity for identical images. */
export function psnr(a: Pixels, b: Pixels, dataRange = 1): number {
  return 10 * Math.log10((dataRange * dataRange) / mse(a, b));
}

/** Valid separable correlation of one H×W plane with `w` along both axes: (H−2r)×(W−2r) in float64. */
function blurValid(src: Float64Array, h: number, w: number, taps: Float64Array): Float64Array {
  const r = (taps.length - 1) / 2;
  const ow = w - 2 * r;
  const oh = h - 2 * r;
  const rows = new Float64Array(h * ow);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let k = 0; k < taps.length; k++) s += taps[k] * src[y * w + x + k];
      rows[y * ow + x] = s;
    }
  const out = new Float64Array(oh * ow);
  for (let y = 0; y < oh; y++)
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let k = 0; k < taps.length; k++) s += taps[k] * rows[(y + k) * ow + x];
      out[y * ow + x] = s;
    }
  return out;
}

/** Mean SSIM of two CHW images with values in [0, dataRange], averaged over channels (float64). */
export function ssim(a: Pixels, b: Pixels, shape: PlanarShape, dataRange = 1): number {
  const { channels: C, height: H, width: W } = shape;
  checkPair('ssim', a, b, C * H * W);
  const r = SSIM_RADIUS;
  if (H <= 2 * r || W <= 2 * r) throw new Error(`ssim: images must be larger than ${2 * r}x${2 * r} (the 11x11 window), got ${H}x${W}`);
  const taps = ssimWindow();
  const c1 = (SSIM_K1 * dataRange) ** 2;
  const c2 = (SSIM_K2 * dataRange) ** 2;
  const n = H * W;
  let total = 0;
  for (let c = 0; c < C; c++) {
    const x = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      x[i] = a[c * n + i];
      y[i] = b[c * n + i];
    }
    const xx = x.map((v) => v * v);
    const yy = y.map((v) => v * v);
    const xy = x.map((v, i) => v * y[i]);
    const [mx, my, mxx, myy, mxy] = [x, y, xx, yy, xy].map((p) => blurValid(p, H, W, taps));
    let s = 0;
    for (let i = 0; i < mx.length; i++) {
      const vx = mxx[i] - mx[i] * mx[i];
      const vy = myy[i] - my[i] * my[i];
      const cxy = mxy[i] - mx[i] * my[i];
      s += ((2 * mx[i] * my[i] + c1) * (2 * cxy + c2)) / ((mx[i] * mx[i] + my[i] * my[i] + c1) * (vx + vy + c2));
    }
    total += s / mx.length;
  }
  return total / C;
}

/** The n×(n−2r) matrix G with (x·G)[j] = Σ_k taps[k]·x[j+k]: a valid 1-D correlation as a matmul. */
function bandMatrix(n: number, taps: Float64Array): Float32Array {
  const r = (taps.length - 1) / 2;
  const m = n - 2 * r;
  const g = new Float32Array(n * m);
  for (let j = 0; j < m; j++) for (let k = 0; k < taps.length; k++) g[(j + k) * m + j] = taps[k];
  return g;
}

/**
 * Differentiable SSIM loss on the GPU: 1 − mean SSIM of two [N,C,H,W] tensors in [0, 1], with the same window,
 * constants and averaging as `ssim` (one mean over every image, channel and valid pixel). The five Gaussian
 * filters run as two banded matmuls per axis on one stacked batch; a dense band matrix costs H·W·(W−10) MACs
 * per plane, cheap next to the model at the crop sizes we train on, and needs no conv op.
 */
export function ssimLoss(a: Tensor, b: Tensor): Tensor {
  if (a.ndim !== 4 || b.ndim !== 4 || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`ssimLoss: expected two [N,C,H,W] tensors of one shape, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  }
  const [n, c, h, w] = a.shape;
  const r = SSIM_RADIUS;
  if (h <= 2 * r || w <= 2 * r) throw new Error(`ssimLoss: images must be larger than ${2 * r}x${2 * r} (the 11x11 window), got ${shapeStr(a.shape)}`);
  const taps = ssimWindow();
  const c1 = SSIM_K1 ** 2;
  const c2 = SSIM_K2 ** 2;
  return tidy(() => {
    const gw = tensor(bandMatrix(w, taps), [w, w - 2 * r]);
    // Row filter as Gᵀ·x on the left: the transpose of the width matrix built for height.
    const gh = tensor(bandMatrix(h, taps), [h, h - 2 * r]).transpose(0, 1);
    const stacked = concat([a, b, mul(a, a), mul(b, b), mul(a, b)], 0);
    const rows = matmul(reshape(stacked, [5 * n * c * h, w]), gw);
    const blurred = matmul(gh, reshape(rows, [5 * n * c, h, w - 2 * r]));
    const part = (k: number) => slice(blurred, 0, k * n * c, (k + 1) * n * c);
    const [mx, my, mxx, myy, mxy] = [0, 1, 2, 3, 4].map(part);
    const mxmy = mul(mx, my);
    const mx2 = mul(mx, mx);
    const my2 = mul(my, my);
    const num = mul(add(mul(mxmy, 2), c1), add(mul(sub(mxy, mxmy), 2), c2));
    const den = mul(add(add(mx2, my2), c1), add(sub(add(mxx, myy), add(mx2, my2)), c2));
    return sub(1, mean(div(num, den)));
  });
}
