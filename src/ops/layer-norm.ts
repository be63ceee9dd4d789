import type { Tensor } from '../tensor/tensor.js';
import { shapeStr } from '../tensor/shape.js';

/** Layer normalisation over the trailing `normalizedShape` dims, with optional elementwise affine. Composed from engine ops. */
export function layerNorm(x: Tensor, normalizedShape: readonly number[], weight?: Tensor, bias?: Tensor, eps = 1e-5): Tensor {
  const k = normalizedShape.length;
  const tail = x.shape.slice(x.ndim - k);
  if (k === 0 || k > x.ndim || tail.some((d, i) => d !== normalizedShape[i])) {
    throw new Error(`layerNorm: normalized shape [${normalizedShape}] does not match the trailing dims of input ${shapeStr(x.shape)}`);
  }
  const axes = Array.from({ length: k }, (_, i) => x.ndim - k + i);
  const mean = x.mean(axes, true);
  const centered = x.sub(mean);
  const rstd = centered.square().mean(axes, true).add(eps).rsqrt();
  let y = centered.mul(rstd);
  if (weight) y = y.mul(weight);
  if (bias) y = y.add(bias);
  return y;
}
