import type { Tensor } from '../tensor/tensor.js';
import { shapeStr } from '../tensor/shape.js';
import { tensor } from '../ops/creation.js';
import { add, maximum, mul, sub } from '../ops/binary.js';
import { mean } from '../ops/reduce.js';
import { unary } from '../ops/unary.js';
import { applyColorMatrix, clip01, gammaPower, inverseSmoothstep } from './isp-ops.js';
import { GAMMA } from './ptp.js';

/**
 * Inverse post-tone processing (IPTP), Brooks' `unprocess`: sRGB y ∈ [0, 1] → camera-linear RGB, per image:
 *   1. inverse smoothstep   x = 0.5 − sin(asin(1 − 2y) / 3)
 *   2. gamma expansion      max(x, 1e-8)^2.2
 *   3. colour               rgb2cam · x
 *   4. inverse white balance with highlight preservation: g = [1/red, 1, 1/blue] / rgbGain, gray = channel mean,
 *      m = (max(gray − 0.9, 0) / 0.1)², gain = max(m + (1 − m)·g, g) — so near-white pixels are scaled less and
 *      do not turn grey-coloured after PTP's clip
 *   5. clip to [0, 1]
 * The result is the linear HQ target. Built from engine ops, so it is differentiable as well.
 */
export interface IptpParams {
  rgb2cam: readonly (readonly number[])[];
  rgbGain: number;
  redGain: number;
  blueGain: number;
}

export const HIGHLIGHT_THRESHOLD = 0.9;

export function iptp(srgb: Tensor, params: IptpParams | readonly IptpParams[]): Tensor {
  if (srgb.ndim !== 4 || srgb.shape[1] !== 3) throw new Error(`iptp: expected sRGB images of shape [N,3,H,W], got ${shapeStr(srgb.shape)}`);
  const n = srgb.shape[0];
  const list = Array.isArray(params) ? (params as readonly IptpParams[]) : new Array<IptpParams>(n).fill(params as IptpParams);
  if (list.length !== n) throw new Error(`iptp: got ${list.length} parameter sets for a batch of ${n} images; pass one or one per image`);
  const gainData = new Float32Array(3 * n);
  const matData = new Float32Array(9 * n);
  list.forEach((p, i) => {
    gainData.set([1 / p.redGain / p.rgbGain, 1 / p.rgbGain, 1 / p.blueGain / p.rgbGain], 3 * i);
    p.rgb2cam.forEach((row, r) => matData.set(row, 9 * i + 3 * r));
  });
  const steps: Tensor[] = [];
  const step = (t: Tensor): Tensor => (steps.push(t), t);
  const g = step(tensor(gainData, [n, 3, 1, 1]));
  const m3 = step(tensor(matData, [n, 3, 3]));

  const linear = step(gammaPower(step(inverseSmoothstep(srgb)), GAMMA));
  const cam = step(applyColorMatrix(linear, m3));
  // Highlight mask m ∈ [0, 1]: 0 below gray 0.9, rising quadratically to 1 at gray 1.
  const gray = step(mean(cam, 1, true));
  const over = step(unary('relu', step(add(gray, -HIGHLIGHT_THRESHOLD))));
  const mask = step(unary('square', step(mul(over, 1 / (1 - HIGHLIGHT_THRESHOLD)))));
  const blended = step(add(g, step(mul(mask, step(sub(1, g))))));
  const gain = step(maximum(blended, g));
  const out = clip01(step(mul(cam, gain)), 'exact');
  for (const t of steps) t.dispose();
  return out;
}
