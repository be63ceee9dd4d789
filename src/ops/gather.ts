import source from '../../shaders/gather.wgsl';
import { record } from '../autograd/graph.js';
import { Tensor, empty } from '../tensor/tensor.js';
import { normAxis, numel, shapeStr } from '../tensor/shape.js';
import { expectFloat32 } from '../tensor/dtype.js';
import { Storage } from '../tensor/storage.js';
import { contiguous } from './copy.js';
import { workgroups1d } from './dispatch.js';

/** Uploads integer indices as an int32 tensor (checked against the axis length first). */
function indexTensor(op: string, indices: ArrayLike<number>, axisLen: number, dev: Tensor['device']): Tensor {
  const data = Int32Array.from(indices as ArrayLike<number>);
  for (const v of data) {
    if (v < 0 || v >= axisLen) throw new Error(`${op}: index ${v} is out of range for an axis of length ${axisLen}`);
  }
  const bytes = Math.max(4, data.byteLength);
  const buf = dev.createBuffer(bytes);
  if (data.length) dev.upload(buf, data, 0, { fresh: true });
  return new Tensor(new Storage(dev, buf, bytes), [data.length], { dtype: 'int32' });
}

function run(entry: 'gather' | 'scatter_add', src: Tensor, idx: Tensor, outShape: number[], dims: { outer: number; d: number; k: number; inner: number }): Tensor {
  const out = empty(outShape);
  const total = numel(outShape);
  if (total === 0) return out;
  const dev = out.device;
  dev.dispatch({
    name: entry === 'gather' ? 'index_select' : 'index_select_backward',
    pipeline: dev.pipeline(entry, source, { WG: 256 }, entry),
    buffers: [src.binding, idx.binding, out.binding],
    uniform: new Uint32Array([dims.outer, dims.d, dims.k, dims.inner, src.offset, total, 0, 0]),
    workgroups: workgroups1d(dev, total, 256),
    bytes: 8 * total,
  });
  return out;
}

/** Picks entries `indices` along `axis` (as torch.index_select). The gradient scatters back, summing repeats. */
export function indexSelect(x: Tensor, axis: number, indices: ArrayLike<number>): Tensor {
  const ax = normAxis('indexSelect', axis, x.ndim);
  expectFloat32('indexSelect', x);
  const d = x.shape[ax];
  const idx = indexTensor('indexSelect', indices, d, x.device);
  const dims = { outer: numel(x.shape.slice(0, ax)), d, k: idx.size, inner: numel(x.shape.slice(ax + 1)) };
  const outShape = [...x.shape];
  outShape[ax] = idx.size;
  const dense = contiguous(x);
  const y = run('gather', dense, idx, outShape, dims);
  if (dense !== x) dense.dispose();
  const out = record(
    'indexSelect',
    y,
    [x],
    (g, [ix]) => {
      const gd = contiguous(g);
      const dx = run('scatter_add', gd, ix, [...x.shape], dims);
      if (gd !== g) gd.dispose();
      return [dx];
    },
    [idx],
  );
  idx.dispose();
  if (out.shape.length !== outShape.length) throw new Error(`internal: indexSelect shape ${shapeStr(out.shape)}`);
  return out;
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    indexSelect(axis: number, indices: ArrayLike<number>): Tensor;
  }
}
Tensor.prototype.indexSelect = function (this: Tensor, axis: number, indices: ArrayLike<number>) {
  return indexSelect(this, axis, indices);
};
