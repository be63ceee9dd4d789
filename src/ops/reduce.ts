import source from '../../shaders/reduce.wgsl';
import { noGrad, record } from '../autograd/graph.js';
import { Tensor, empty } from '../tensor/tensor.js';
import { normAxes, numel, shapeStr } from '../tensor/shape.js';
import { contiguous } from './copy.js';
import { cast } from './cast.js';
import { workgroups1d } from './dispatch.js';
import { permute, reshape, expand } from './shape-ops.js';
import { coalesceDims } from './map-kernel.js';

type ReduceOp = 'sum' | 'max' | 'min';
const OP_CODE: Record<ReduceOp, number> = { sum: 0, max: 1, min: 2 };
const WG = 64;
/** Elements one workgroup should cover before a row is split into chunks. */
const CHUNK_TARGET = 4096;

/** Rows this short get one invocation each instead of a workgroup each. */
const SHORT_ROW = 64;

/** Up to four dimensions, outermost first, as the kernel's walk reads them. */
interface Dims {
  shape: number[];
  strides: number[];
}

/** `shape`/`strides` coalesced (size-1 dimensions dropped, contiguous runs merged); null past four dimensions. */
function walkDims(shape: readonly number[], strides: readonly number[]): Dims | null {
  const c = coalesceDims(shape, [strides]);
  if (c.shape.length > 4) return null;
  return c.shape.length ? { shape: c.shape, strides: c.strides[0] } : { shape: [1], strides: [0] };
}

function reduceUniform(rows: number, inner: number, chunks: number, offset: number, kept: Dims, red: Dims): Uint32Array {
  const u = new Uint32Array(20);
  u.set([rows, inner, chunks, offset]);
  // Right-aligned: dimension d of k dims sits at 4 - k + d.
  const put = (at: number, v: number[]) => u.set(v, at + 4 - v.length);
  u.fill(1, 4, 8);
  put(4, kept.shape);
  put(8, kept.strides);
  u.fill(1, 12, 16);
  put(12, red.shape);
  put(16, red.strides);
  return u;
}

/**
 * Reduces rows × inner elements of `x`, read through the strides of `kept` (the row index) and `red` (the element
 * index) from `offset`, to a dense [rows], with as many passes as long rows need.
 */
function reduceRows(op: ReduceOp, x: Tensor, offset: number, kept: Dims, red: Dims, rows: number, inner: number, into?: Tensor): Tensor {
  const dev = x.device;
  const constants = (k: Dims, r: Dims) => ({ WG, OP: OP_CODE[op], KR: k.shape.length, RR: r.shape.length });
  if (inner <= SHORT_ROW && rows >= WG) {
    const out = into ?? empty([rows]);
    dev.dispatch({
      name: `reduce_${op}`,
      pipeline: dev.pipeline(`reduce_${op}_rows`, source, constants(kept, red), 'per_row'),
      buffers: [x.binding, out.binding],
      uniform: reduceUniform(rows, inner, 1, offset, kept, red),
      workgroups: workgroups1d(dev, rows, WG),
      bytes: 4 * (rows * inner + rows),
      flops: rows * inner,
    });
    return out;
  }
  let src = x;
  let srcOffset = offset;
  let n = inner;
  let [k, r] = [kept, red];
  for (;;) {
    const chunks = n > CHUNK_TARGET && rows < 1024 ? Math.min(256, Math.ceil(n / CHUNK_TARGET)) : 1;
    const out = chunks === 1 && into ? into : empty([rows * chunks]);
    const groups = rows * chunks;
    const max = dev.limits.maxComputeWorkgroupsPerDimension;
    const y = Math.ceil(groups / max);
    dev.dispatch({
      name: `reduce_${op}`,
      pipeline: dev.pipeline(`reduce_${op}`, source, constants(k, r)),
      buffers: [src.binding, out.binding],
      uniform: reduceUniform(rows, n, chunks, srcOffset, k, r),
      workgroups: [Math.ceil(groups / y), y],
      bytes: 4 * (rows * n + groups),
      flops: rows * n,
    });
    if (src !== x) src.dispose();
    if (chunks === 1) return out;
    // The partial results: row i's chunks are dense at i * chunks.
    src = out;
    srcOffset = 0;
    n = chunks;
    k = { shape: [rows], strides: [chunks] };
    r = { shape: [chunks], strides: [1] };
  }
}

/**
 * Reduces `x` over `axes` (all when omitted); keepdim leaves size-1 axes in place. No autograd. float16 input is
 * widened first and the result rounded back once, so sums accumulate in f32.
 */
function reduceRaw(op: ReduceOp, x: Tensor, axes: number[], keepdim: boolean): Tensor {
  return noGrad(() => {
    if (x.dtype !== 'float16') return reduceRawImpl(op, x, axes, keepdim);
    const wide = cast(x, 'float32');
    const y = reduceRawImpl(op, wide, axes, keepdim);
    wide.dispose();
    const half = cast(y, 'float16');
    y.dispose();
    return half;
  });
}

function reduceRawImpl(op: ReduceOp, x: Tensor, axes: number[], keepdim: boolean, into?: Tensor): Tensor {
  const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const outShape = keepdim ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : kept.map((i) => x.shape[i]);
  if (axes.some((a) => x.shape[a] === 0) && op !== 'sum') throw new Error(`${op}: cannot reduce over an empty axis (shape ${shapeStr(x.shape)})`);
  const inner = numel(axes.map((a) => x.shape[a]));
  const rows = numel(kept.map((i) => x.shape[i]));
  // The kernel reads the view through its strides; only views needing more than four dimensions on either side
  // are copied dense first.
  let src = x;
  let k = walkDims(kept.map((i) => x.shape[i]), kept.map((i) => x.strides[i]));
  let r = walkDims(axes.map((a) => x.shape[a]), axes.map((a) => x.strides[a]));
  if (!k || !r) {
    const permuted = permute(x, [...kept, ...axes]);
    src = contiguous(permuted);
    if (src !== permuted) permuted.dispose();
    k = { shape: [rows], strides: [inner] };
    r = { shape: [inner], strides: [1] };
  }
  const flat = inner === 0 ? zerosOf(rows, into) : reduceRows(op, src, src.offset, k, r, rows, inner, into);
  if (src !== x) src.dispose();
  if (into) return into;
  const out = reshape(flat, outShape);
  if (out !== flat) flat.dispose();
  return out;
}

/**
 * out = the sum of float32 `x` over `axes`, written into `out` (dense, float32, as many elements as the result):
 * a gradient reduced straight into its destination (e.g. an optimizer's gradient slot). No autograd.
 */
export function sumInto(x: Tensor, axes: readonly number[], out: Tensor): void {
  const ax = normAxes('sum', axes, x.ndim);
  const rows = numel(x.shape.filter((_, i) => !ax.includes(i)));
  if (x.dtype !== 'float32' || out.dtype !== 'float32' || !out.isContiguous || out.size !== rows) {
    throw new Error(`internal: sumInto needs float32 operands and a dense output of ${rows} elements (got ${shapeStr(out.shape)} ${out.dtype})`);
  }
  noGrad(() => reduceRawImpl('sum', x, ax, false, out));
}

function zerosOf(n: number, into?: Tensor): Tensor {
  const t = into ?? empty([n]);
  t.device.upload(t.storage.buffer, new Float32Array(n), t.byteOffset);
  return t;
}

/** Shape of the result with reduced axes kept as 1 (for broadcasting gradients back). */
function keptShape(x: Tensor, axes: number[]): number[] {
  return x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

export function sum(x: Tensor, dims?: number | readonly number[], keepdim = false): Tensor {
  const axes = normAxes('sum', dims, x.ndim);
  const y = reduceRaw('sum', x, axes, keepdim);
  return record('sum', y, [x], (g) => {
    const gk = reshape(g, keptShape(x, axes));
    const e = expand(gk, x.shape);
    const dense = contiguous(e);
    if (gk !== g) gk.dispose();
    if (dense !== e) e.dispose();
    return [dense];
  });
}

export function mean(x: Tensor, dims?: number | readonly number[], keepdim = false): Tensor {
  const axes = normAxes('mean', dims, x.ndim);
  const n = numel(axes.map((a) => x.shape[a]));
  const s = sum(x, axes, keepdim);
  const m = s.mul(1 / n);
  s.dispose();
  return m;
}

/** max/min over axes; the gradient goes to every position equal to the extreme, split evenly among ties. */
function extreme(op: 'max' | 'min', x: Tensor, dims: number | readonly number[] | undefined, keepdim: boolean): Tensor {
  const axes = normAxes(op, dims, x.ndim);
  const y = reduceRaw(op, x, axes, keepdim);
  return record(
    op,
    y,
    [x],
    (g, [xs, ys]) => {
      const yk = reshape(ys, keptShape(x, axes));
      const mask = xs.eq(yk);
      const count = reduceRaw('sum', mask, axes, true);
      const gk = reshape(g, keptShape(x, axes));
      const share = gk.div(count);
      const dx = mask.mul(share);
      for (const t of [yk, mask, count, gk, share]) if (t !== g && t !== ys) t.dispose();
      return [dx];
    },
    [x, y],
  );
}

export const max = (x: Tensor, dims?: number | readonly number[], keepdim = false): Tensor => extreme('max', x, dims, keepdim);
export const min = (x: Tensor, dims?: number | readonly number[], keepdim = false): Tensor => extreme('min', x, dims, keepdim);

/** Variance over axes; `correction` 1 (default, as PyTorch) gives the unbiased estimate, 0 the population one. */
export function variance(x: Tensor, dims?: number | readonly number[], keepdim = false, correction = 1): Tensor {
  const axes = normAxes('var', dims, x.ndim);
  const n = numel(axes.map((a) => x.shape[a]));
  const m = mean(x, axes, true);
  const d = x.sub(m);
  const sq = d.square();
  const s = sum(sq, axes, keepdim);
  const v = s.mul(1 / Math.max(n - correction, 0));
  for (const t of [m, d, sq, s]) t.dispose();
  return v;
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    sum(dims?: number | readonly number[], keepdim?: boolean): Tensor;
    mean(dims?: number | readonly number[], keepdim?: boolean): Tensor;
    max(dims?: number | readonly number[], keepdim?: boolean): Tensor;
    min(dims?: number | readonly number[], keepdim?: boolean): Tensor;
    var(dims?: number | readonly number[], keepdim?: boolean, correction?: number): Tensor;
  }
}

Object.assign(Tensor.prototype, {
  sum(this: Tensor, dims?: number | readonly number[], keepdim?: boolean) { return sum(this, dims, keepdim); },
  mean(this: Tensor, dims?: number | readonly number[], keepdim?: boolean) { return mean(this, dims, keepdim); },
  max(this: Tensor, dims?: number | readonly number[], keepdim?: boolean) { return max(this, dims, keepdim); },
  min(this: Tensor, dims?: number | readonly number[], keepdim?: boolean) { return min(this, dims, keepdim); },
  var(this: Tensor, dims?: number | readonly number[], keepdim?: boolean, correction?: number) { return variance(this, dims, keepdim, correction); },
});
