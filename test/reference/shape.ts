/**
 * Float64 shape ops. Each is a mapping from output positions to input positions; the backward adds the output
 * gradient into the input position each output element came from (so repeats, as in expand or indexSelect,
 * sum).
 */
import { broadcastIndex, numel, ravel, recordRef, ref, unravel, type RefTensor } from './ref-tensor.js';

/** Builds `out[i] = x[src(i)]` of the given shape and its backward `dx[src(i)] += g[i]`. */
function gatherRef(op: string, x: RefTensor, shape: number[], src: (outIdx: number[]) => number): RefTensor {
  const n = numel(shape);
  const from = new Int32Array(n);
  const y = ref(shape);
  for (let i = 0; i < n; i++) {
    from[i] = src(unravel(i, shape));
    y.data[i] = x.data[from[i]];
  }
  return recordRef(y, op, [x], (g) => {
    const dx = ref(x.shape);
    for (let i = 0; i < n; i++) dx.data[from[i]] += g.data[i];
    return [dx];
  });
}

const norm = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

export function reshapeRef(x: RefTensor, shape: readonly number[]): RefTensor {
  const target = [...shape];
  const neg = target.indexOf(-1);
  if (neg >= 0) target[neg] = numel(x.shape) / numel(target.filter((_, i) => i !== neg));
  if (numel(target) !== numel(x.shape)) throw new Error(`reshapeRef: [${x.shape}] to [${shape}]`);
  return gatherRef('reshape', x, target, (idx) => ravel(idx, target));
}

export function permuteRef(x: RefTensor, dims: readonly number[]): RefTensor {
  const d = dims.map((a) => norm(a, x.shape.length));
  const shape = d.map((a) => x.shape[a]);
  return gatherRef('permute', x, shape, (idx) => {
    const inIdx = new Array<number>(d.length);
    d.forEach((a, k) => (inIdx[a] = idx[k]));
    return ravel(inIdx, x.shape);
  });
}

export function transposeRef(x: RefTensor, a = -2, b = -1): RefTensor {
  const dims = x.shape.map((_, i) => i);
  const [i, j] = [norm(a, dims.length), norm(b, dims.length)];
  [dims[i], dims[j]] = [dims[j], dims[i]];
  return permuteRef(x, dims);
}

/** `[start, end)` along `axis`, Python-style: negative indices count from the end, out-of-range ones clamp. */
export function sliceRef(x: RefTensor, axis: number, start: number, end?: number): RefTensor {
  const ax = norm(axis, x.shape.length);
  const n = x.shape[ax];
  const clampIdx = (i: number) => Math.min(n, Math.max(0, i < 0 ? i + n : i));
  const s = clampIdx(start);
  const e = Math.max(s, clampIdx(end ?? n));
  const shape = [...x.shape];
  shape[ax] = e - s;
  return gatherRef('slice', x, shape, (idx) => ravel(idx.map((v, d) => (d === ax ? v + s : v)), x.shape));
}

/** Broadcast to `shape` (-1 keeps a dimension). */
export function expandRef(x: RefTensor, shape: readonly number[]): RefTensor {
  const lead = shape.length - x.shape.length;
  const target = shape.map((d, i) => (d === -1 ? x.shape[i - lead] : d));
  return gatherRef('expand', x, target, (idx) => broadcastIndex(idx, x.shape));
}

export function unsqueezeRef(x: RefTensor, axis: number): RefTensor {
  const shape = [...x.shape];
  shape.splice(norm(axis, x.shape.length + 1), 0, 1);
  return reshapeRef(x, shape);
}

export function squeezeRef(x: RefTensor, axis?: number): RefTensor {
  const shape = x.shape.filter((d, i) => d !== 1 || (axis !== undefined && i !== norm(axis, x.shape.length)));
  return reshapeRef(x, shape);
}

export function flattenRef(x: RefTensor, start = 0, end = -1): RefTensor {
  const r = Math.max(1, x.shape.length);
  const [s, e] = [norm(start, r), norm(end, r)];
  return reshapeRef(x, [...x.shape.slice(0, s), numel(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)]);
}

export function concatRef(xs: readonly RefTensor[], axis = 0): RefTensor {
  const ax = norm(axis, xs[0].shape.length);
  const shape = [...xs[0].shape];
  shape[ax] = xs.reduce((s, x) => s + x.shape[ax], 0);
  const n = numel(shape);
  const owner = new Int32Array(n);
  const from = new Int32Array(n);
  const y = ref(shape);
  for (let i = 0; i < n; i++) {
    const idx = unravel(i, shape);
    let k = 0;
    let at = idx[ax];
    while (at >= xs[k].shape[ax]) at -= xs[k++].shape[ax];
    owner[i] = k;
    from[i] = ravel(idx.map((v, d) => (d === ax ? at : v)), xs[k].shape);
    y.data[i] = xs[k].data[from[i]];
  }
  return recordRef(y, 'concat', [...xs], (g) => {
    const dxs = xs.map((x) => ref(x.shape));
    for (let i = 0; i < n; i++) dxs[owner[i]].data[from[i]] += g.data[i];
    return dxs;
  });
}

/** Constant padding; `pads` are (before, after) pairs from the LAST axis backwards, as torch.nn.functional.pad. */
export function padRef(x: RefTensor, pads: readonly number[], value = 0): RefTensor {
  const r = x.shape.length;
  const before = new Array<number>(r).fill(0);
  const shape = [...x.shape];
  for (let k = 0; k < pads.length / 2; k++) {
    before[r - 1 - k] = pads[2 * k];
    shape[r - 1 - k] += pads[2 * k] + pads[2 * k + 1];
  }
  const n = numel(shape);
  const from = new Int32Array(n).fill(-1);
  const y = ref(shape);
  for (let i = 0; i < n; i++) {
    const idx = unravel(i, shape).map((v, d) => v - before[d]);
    const inside = idx.every((v, d) => v >= 0 && v < x.shape[d]);
    if (inside) from[i] = ravel(idx, x.shape);
    y.data[i] = inside ? x.data[from[i]] : value;
  }
  return recordRef(y, 'pad', [x], (g) => {
    const dx = ref(x.shape);
    for (let i = 0; i < n; i++) if (from[i] >= 0) dx.data[from[i]] += g.data[i];
    return [dx];
  });
}

/** Entries `indices` along `axis` (as torch.index_select); repeated indices sum their gradients. */
export function indexSelectRef(x: RefTensor, axis: number, indices: readonly number[]): RefTensor {
  const ax = norm(axis, x.shape.length);
  const shape = [...x.shape];
  shape[ax] = indices.length;
  return gatherRef('indexSelect', x, shape, (idx) => ravel(idx.map((v, d) => (d === ax ? indices[v] : v)), x.shape));
}

/** Identity (contiguous, clone): the gradient passes through unchanged. */
export function identityRef(x: RefTensor): RefTensor {
  return gatherRef('identity', x, [...x.shape], (idx) => ravel(idx, x.shape));
}
