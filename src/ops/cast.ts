import { record } from '../autograd/graph.js';
import { Tensor, isMetaMode } from '../tensor/tensor.js';
import type { DType } from '../tensor/dtype.js';
import { runMap } from './map-kernel.js';

/**
 * A copy of `x` converted to `dtype` ('float32' or 'float16'; f32 → f16 rounds to nearest and overflows to
 * ±Inf), or `x` itself when it already has that type. The backward rule converts the gradient back to the
 * input's type, so an f32 master weight cast to f16 for compute receives an f32 gradient.
 * float16 needs the adapter's 'shader-f16' feature; without it this throws naming the feature.
 */
export function cast(x: Tensor, dtype: DType): Tensor {
  if (dtype === x.dtype) return x;
  if (dtype === 'int32' || x.dtype === 'int32') throw new Error(`cast: only float32 <-> float16 conversions exist (got ${x.dtype} -> ${dtype})`);
  if (isMetaMode() || x.isMeta) return Tensor.meta(x.shape, dtype);
  const y = runMap(`cast_${dtype}`, ['x'], 'x', [x], x.shape, { dtype });
  return record(`cast_${dtype}`, y, [x], (g) => [castGrad(g, x.dtype)]);
}

/** A gradient in `dtype` (ops may hand back a float32 gradient for a float16 tensor; it is converted here). */
function castGrad(g: Tensor, dtype: DType): Tensor {
  return g.dtype === dtype ? g : runMap(`cast_${dtype}`, ['x'], 'x', [g], g.shape, { dtype });
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    /** This tensor converted to `dtype` (itself when it already is); differentiable. */
    toDtype(dtype: DType): Tensor;
    /** `toDtype('float16')`: half the memory; needs the adapter's 'shader-f16' feature. */
    toFloat16(): Tensor;
    /** `toDtype('float32')`. */
    toFloat32(): Tensor;
  }
}
Tensor.prototype.toDtype = function (this: Tensor, dtype: DType) {
  return cast(this, dtype);
};
Tensor.prototype.toFloat16 = function (this: Tensor) {
  return cast(this, 'float16');
};
Tensor.prototype.toFloat32 = function (this: Tensor) {
  return cast(this, 'float32');
};
