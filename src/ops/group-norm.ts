import type { Tensor } from '../tensor/tensor.js';
import { shapeStr } from '../tensor/shape.js';

/**
 * Group normalisation over [N, C, ...]: statistics per (sample, group of C/groups channels), then the optional
 * per-channel affine and SiLU. Composed from engine ops (reductions and elementwise), so autograd follows.
 */
export function groupNorm(x: Tensor, groups: number, weight?: Tensor, bias?: Tensor, eps = 1e-5, opts: { silu?: boolean } = {}): Tensor {
  if (x.ndim < 2) throw new Error(`groupNorm: input must be [N, C, ...], got ${shapeStr(x.shape)}`);
  const [N, C] = x.shape;
  if (!Number.isInteger(groups) || groups < 1 || C % groups) throw new Error(`groupNorm: ${C} channels are not divisible by ${groups} groups (input ${shapeStr(x.shape)})`);
  for (const [name, t] of [['weight', weight], ['bias', bias]] as const) {
    if (t && (t.ndim !== 1 || t.shape[0] !== C)) throw new Error(`groupNorm: ${name} must have shape [${C}], got ${shapeStr(t.shape)}`);
  }
  const xr = x.reshape([N, groups, -1]);
  const mean = xr.mean(2, true);
  const centered = xr.sub(mean);
  const variance = centered.square().mean(2, true);
  const rstd = variance.add(eps).rsqrt();
  const normed = centered.mul(rstd).reshape(x.shape);
  const chShape = [1, C, ...x.shape.slice(2).map(() => 1)];
  let y = normed;
  if (weight) y = y.mul(weight.reshape(chShape));
  if (bias) y = y.add(bias.reshape(chShape));
  return opts.silu ? y.silu() : y;
}
