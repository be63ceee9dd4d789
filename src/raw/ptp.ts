import { Tensor } from '../tensor/tensor.js';
import { shapeStr } from '../tensor/shape.js';
import { tensor } from '../ops/creation.js';
import { mul } from '../ops/binary.js';
import { reshape } from '../ops/shape-ops.js';
import { applyColorMatrix, clip01, gammaPower, smoothstep, type ClipGradient } from './isp-ops.js';

/**
 * Post-tone processing (PTP): camera-linear RGB → sRGB, as Brooks' `process` with per-image metadata:
 *   white balance (× wbGains) → clip → cam2rgb → clip → max(x, 1e-8)^(1/2.2) → smoothstep 3x² − 2x³.
 * For synthetic pairs wbGains = [red, 1, blue] · rgbGain (CameraParams.wbGains), which undoes IPTP exactly away
 * from clipped highlights; real RAW files give their as-shot multipliers (green = 1) and colour matrix.
 *
 * PTP sits in the training loss, so it is built from differentiable engine ops (gradients reach the image and,
 * when given as tensors, the gains and matrices).
 *
 * Clip gradient: straight-through by default — both clips pass the incoming gradient unchanged (identity
 * Jacobian), the forward values stay exactly clipped. Why: with the exact derivative a channel that overshoots
 * [0, 1] (a blown highlight of the restored image, or a channel pushed out by the white-balance gain) gets no
 * gradient from the sRGB loss and can stay wrong; straight-through keeps the loss gradient, evaluated at the
 * clipped value, and since every target lies inside [0, 1] it points back into range. This matters mostly at the
 * first (white-balance) clip, whose clipped channel still feeds all three outputs through cam2rgb. After the
 * second clip the curve itself is flat at both ends (smoothstep'(1) = 0; the gamma's 1e-8 floor has zero
 * slope), so there gradients vanish whichever rule is used. A soft clip was rejected because it changes the
 * forward values, which must equal the display pipeline. `clipGradient: 'exact'` gives the true derivative.
 * Near black the composite slope of gamma + smoothstep stays below ~15 (the smoothstep tames x^(1/2.2)).
 */
export interface PtpParams {
  /** White-balance multipliers [r, g, b] (applied to camera RGB before the colour matrix). */
  wbGains: readonly number[];
  /** Camera RGB → linear sRGB, row-major 3×3. */
  cam2rgb: readonly (readonly number[])[];
}

/** PTP parameters already on the GPU: wbGains [N,3] and cam2rgb [N,3,3] (differentiable). */
export interface PtpTensors {
  wbGains: Tensor;
  cam2rgb: Tensor;
}

export interface PtpOptions {
  clipGradient?: ClipGradient;
}

export const GAMMA = 2.2;

function isTensors(p: unknown): p is PtpTensors {
  return typeof p === 'object' && p !== null && (p as { wbGains?: { isTensor?: boolean } }).wbGains?.isTensor === true;
}

/** Uploads one parameter set per image as [N,3] gains and [N,3,3] matrices. */
export function ptpTensors(params: PtpParams | readonly PtpParams[], n: number): PtpTensors {
  const list = Array.isArray(params) ? (params as readonly PtpParams[]) : new Array<PtpParams>(n).fill(params as PtpParams);
  if (list.length !== n) throw new Error(`ptp: got ${list.length} parameter sets for a batch of ${n} images; pass one or one per image`);
  const wb = new Float32Array(3 * n);
  const m = new Float32Array(9 * n);
  list.forEach((p, i) => {
    if (p.wbGains.length !== 3 || p.cam2rgb.length !== 3 || p.cam2rgb.some((r) => r.length !== 3)) {
      throw new Error(`ptp: parameter set ${i} needs wbGains [r,g,b] and a 3x3 cam2rgb`);
    }
    wb.set(p.wbGains, 3 * i);
    p.cam2rgb.forEach((row, r) => m.set(row, 9 * i + 3 * r));
  });
  return { wbGains: tensor(wb, [n, 3]), cam2rgb: tensor(m, [n, 3, 3]) };
}

/** Camera-linear [N,3,H,W] → sRGB [N,3,H,W] in [0, 1]. */
export function ptp(x: Tensor, params: PtpParams | readonly PtpParams[] | PtpTensors, opts: PtpOptions = {}): Tensor {
  if (x.ndim !== 4 || x.shape[1] !== 3) throw new Error(`ptp: expected camera RGB of shape [N,3,H,W], got ${shapeStr(x.shape)}`);
  const n = x.shape[0];
  const grad = opts.clipGradient ?? 'straight-through';
  const own = !isTensors(params);
  const p = own ? ptpTensors(params as PtpParams | readonly PtpParams[], n) : (params as PtpTensors);
  if (p.wbGains.ndim !== 2 || p.wbGains.shape[1] !== 3 || (p.wbGains.shape[0] !== n && p.wbGains.shape[0] !== 1)) {
    throw new Error(`ptp: wbGains must have shape [${n},3], got ${shapeStr(p.wbGains.shape)}`);
  }
  const steps: Tensor[] = [];
  const step = (t: Tensor): Tensor => (steps.push(t), t);
  const gains = step(reshape(p.wbGains, [p.wbGains.shape[0], 3, 1, 1]));
  const balanced = step(clip01(step(mul(x, gains)), grad));
  const rgb = step(clip01(step(applyColorMatrix(balanced, p.cam2rgb)), grad));
  const out = smoothstep(step(gammaPower(rgb, 1 / GAMMA)));
  // Intermediates are graph nodes as objects; the backward rules hold their own references to what they need.
  for (const t of steps) t.dispose();
  if (own) {
    p.wbGains.dispose();
    p.cam2rgb.dispose();
  }
  return out;
}
