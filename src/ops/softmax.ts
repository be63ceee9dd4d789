import source from '../../shaders/softmax.wgsl';
import { noGrad, record } from '../autograd/graph.js';
import { Tensor, empty } from '../tensor/tensor.js';
import { normAxis } from '../tensor/shape.js';
import { expectFloat32 } from '../tensor/dtype.js';
import { contiguous } from './copy.js';
import { transpose } from './shape-ops.js';

function lastAxisSoftmax(x: Tensor, log: boolean): Tensor {
  expectFloat32(log ? 'logSoftmax' : 'softmax', x);
  const dense = contiguous(x);
  const n = x.shape[x.ndim - 1] ?? 1;
  const rows = n === 0 ? 0 : dense.size / n;
  const out = empty(x.shape);
  const dev = dense.device;
  if (rows > 0) {
    const max = dev.limits.maxComputeWorkgroupsPerDimension;
    const ys = Math.ceil(rows / max);
    const name = log ? 'log_softmax' : 'softmax';
    dev.dispatch({
      name,
      pipeline: dev.pipeline(name, source, { WG: 64, LOG: log ? 1 : 0 }),
      buffers: [dense.binding, out.binding],
      uniform: new Uint32Array([rows, n, dense.offset, 0]),
      workgroups: [Math.ceil(rows / ys), ys],
      bytes: 8 * dense.size,
      flops: 5 * dense.size,
    });
  }
  if (dense !== x) dense.dispose();
  return out;
}

/** Softmax along `dim` (stable: the max is subtracted first). Backward: dx = y * (g - sum(g * y)). */
export function softmax(x: Tensor, dim = -1): Tensor {
  return softmaxImpl(x, dim, false);
}

/** log(softmax(x)) computed as x - logsumexp(x). Backward: dx = g - exp(y) * sum(g). */
export function logSoftmax(x: Tensor, dim = -1): Tensor {
  return softmaxImpl(x, dim, true);
}

function softmaxImpl(x: Tensor, dim: number, log: boolean): Tensor {
  const ax = normAxis(log ? 'logSoftmax' : 'softmax', dim, x.ndim);
  const last = x.ndim - 1;
  const y = noGrad(() => {
    if (ax === last) return lastAxisSoftmax(x, log);
    const moved = transpose(x, ax, last);
    const r = lastAxisSoftmax(moved, log);
    moved.dispose();
    const back = transpose(r, ax, last);
    const dense = contiguous(back);
    back.dispose();
    r.dispose();
    return dense;
  });
  return record(
    log ? 'logSoftmax' : 'softmax',
    y,
    [x],
    (g, [ys]) => {
      if (log) {
        const s = g.sum(ax, true);
        const e = ys.exp();
        const es = e.mul(s);
        const dx = g.sub(es);
        [s, e, es].forEach((t) => t.dispose());
        return [dx];
      }
      const gy = g.mul(ys);
      const s = gy.sum(ax, true);
      const d = g.sub(s);
      const dx = d.mul(ys);
      [gy, s, d].forEach((t) => t.dispose());
      return [dx];
    },
    [y],
  );
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    softmax(dim?: number): Tensor;
    logSoftmax(dim?: number): Tensor;
  }
}
Tensor.prototype.softmax = function (this: Tensor, dim = -1) {
  return softmax(this, dim);
};
Tensor.prototype.logSoftmax = function (this: Tensor, dim = -1) {
  return logSoftmax(this, dim);
};
