/**
 * Float64 softmax and log-softmax along one axis. Each "line" is the set of elements that differ only in the
 * softmax axis; the max is subtracted before exp, so rows of ±1000 are exact here too.
 */
import { recordRef, ref, unravel, type RefTensor } from './ref-tensor.js';

/** Flat indices of every line along `axis` (each line lists its elements in axis order). */
function lines(shape: readonly number[], axis: number): number[][] {
  const stride = shape.slice(axis + 1).reduce((n, d) => n * d, 1);
  const out: number[][] = [];
  const total = shape.reduce((n, d) => n * d, 1);
  for (let i = 0; i < total; i++) {
    if (unravel(i, shape)[axis] !== 0) continue;
    out.push(Array.from({ length: shape[axis] }, (_, j) => i + j * stride));
  }
  return out;
}

function softmaxImpl(x: RefTensor, dim: number, log: boolean): RefTensor {
  const axis = dim < 0 ? dim + x.shape.length : dim;
  const ls = lines(x.shape, axis);
  const y = ref(x.shape);
  for (const line of ls) {
    const m = line.reduce((acc, i) => Math.max(acc, x.data[i]), -Infinity);
    const s = line.reduce((acc, i) => acc + Math.exp(x.data[i] - m), 0);
    for (const i of line) y.data[i] = log ? x.data[i] - m - Math.log(s) : Math.exp(x.data[i] - m) / s;
  }
  return recordRef(y, log ? 'logSoftmax' : 'softmax', [x], (g) => {
    const dx = ref(x.shape);
    for (const line of ls) {
      if (log) {
        // y = x - lse(x): dx_i = g_i - softmax_i * sum_j g_j
        const gs = line.reduce((acc, i) => acc + g.data[i], 0);
        for (const i of line) dx.data[i] = g.data[i] - Math.exp(y.data[i]) * gs;
      } else {
        // dy_j/dx_i = y_j (delta_ij - y_i): dx_i = y_i (g_i - sum_j g_j y_j)
        const gy = line.reduce((acc, i) => acc + g.data[i] * y.data[i], 0);
        for (const i of line) dx.data[i] = y.data[i] * (g.data[i] - gy);
      }
    }
    return [dx];
  });
}

export const softmaxRef = (x: RefTensor, dim = -1): RefTensor => softmaxImpl(x, dim, false);
export const logSoftmaxRef = (x: RefTensor, dim = -1): RefTensor => softmaxImpl(x, dim, true);
