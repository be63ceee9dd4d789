import { record } from '../autograd/graph.js';
import { Tensor, empty, setContiguousCopy } from '../tensor/tensor.js';
import { runMap } from './map-kernel.js';

/** Copies `src` (any strides) into `dst` (any strides, same shape). No autograd: a building block. */
export function copyInto(dst: Tensor, src: Tensor): void {
  runMap('copy', ['x'], 'x', [src], dst.shape, { out: dst });
}

/** dst += src elementwise (any strides, same shape), in place. No autograd: gradients summed into their storage. */
export function accumulateInto(dst: Tensor, src: Tensor): void {
  runMap('accumulate', ['x'], 'x', [src], dst.shape, { out: dst, accumulate: true });
}

/** A dense row-major copy (or `t` itself if it already is one). */
export function contiguous(t: Tensor): Tensor {
  if (t.isContiguous) return t;
  const out = empty(t.shape, t.dtype);
  copyInto(out, t);
  return record('contiguous', out, [t], (g) => [g]);
}

setContiguousCopy((t, dtype) => {
  const out = empty(t.shape, dtype ?? t.dtype);
  copyInto(out, t);
  return out;
});

declare module '../tensor/tensor.js' {
  interface Tensor {
    /** A dense copy when this is a strided view; otherwise this tensor itself. */
    contiguous(): Tensor;
    /** A new tensor with the same values that is not part of any autograd graph. */
    detach(): Tensor;
    /** A dense copy with its own storage. */
    clone(): Tensor;
  }
}

Tensor.prototype.contiguous = function (this: Tensor) {
  return contiguous(this);
};
Tensor.prototype.detach = function (this: Tensor) {
  return this.view(this.shape, this.strides, this.offset);
};
Tensor.prototype.clone = function (this: Tensor) {
  const out = empty(this.shape, this.dtype);
  copyInto(out, this);
  return record('clone', out, [this], (g) => [g]);
};
