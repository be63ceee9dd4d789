import { record } from '../autograd/graph.js';
import { Tensor, empty } from '../tensor/tensor.js';
import { assertShape, normAxis, numel, shapeStr, type Shape } from '../tensor/shape.js';
import { copyInto, contiguous } from './copy.js';
import { promoteTypes } from './map-kernel.js';
import { sumToShape } from './binary.js';
import { zeros, full } from './creation.js';

/** Resolves one -1 in a target shape. */
function resolveShape(op: string, t: Tensor, shape: Shape): number[] {
  const out = [...shape];
  const neg = out.indexOf(-1);
  if (neg >= 0) {
    const rest = numel(out.filter((_, i) => i !== neg));
    out[neg] = rest === 0 ? 0 : t.size / rest;
  }
  if (!out.every((d) => Number.isInteger(d) && d >= 0) || numel(out) !== t.size) {
    throw new Error(`${op}: cannot reshape a tensor of shape ${shapeStr(t.shape)} (${t.size} elements) to ${shapeStr(shape)}`);
  }
  assertShape(op, out);
  return out;
}

export function reshape(t: Tensor, shape: Shape): Tensor {
  const target = resolveShape('reshape', t, shape);
  const src = contiguous(t);
  const out = src.view(target, undefinedStrides(target), src.offset);
  if (src !== t) src.dispose();
  return record('reshape', out, [t], (g) => [reshape(g, t.shape)]);
}

function undefinedStrides(shape: Shape): number[] {
  const s: number[] = new Array(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function permute(t: Tensor, dims: readonly number[]): Tensor {
  if (dims.length !== t.ndim) throw new Error(`permute: got ${dims.length} dims [${dims}] for a tensor of rank ${t.ndim}`);
  const d = dims.map((a) => normAxis('permute', a, t.ndim));
  if (new Set(d).size !== d.length) throw new Error(`permute: dims [${dims}] repeat an axis`);
  const out = t.view(d.map((a) => t.shape[a]), d.map((a) => t.strides[a]), t.offset);
  const inverse = new Array<number>(d.length);
  d.forEach((a, i) => (inverse[a] = i));
  return record('permute', out, [t], (g) => [permute(g, inverse)]);
}

export function transpose(t: Tensor, a = -2, b = -1): Tensor {
  const dims = Array.from({ length: t.ndim }, (_, i) => i);
  const x = normAxis('transpose', a, t.ndim);
  const y = normAxis('transpose', b, t.ndim);
  [dims[x], dims[y]] = [dims[y], dims[x]];
  return permute(t, dims);
}

/** A view of `[start, end)` along `axis` (negative indices count from the end, as Python slices). */
export function slice(t: Tensor, axis: number, start: number, end?: number): Tensor {
  const ax = normAxis('slice', axis, t.ndim);
  const n = t.shape[ax];
  const clampIdx = (i: number) => Math.min(n, Math.max(0, i < 0 ? i + n : i));
  const s = clampIdx(start);
  const e = Math.max(s, clampIdx(end ?? n));
  const shape = [...t.shape];
  shape[ax] = e - s;
  const out = t.view(shape, t.strides, t.offset + s * t.strides[ax]);
  return record('slice', out, [t], (g) => {
    const dx = zeros(t.shape);
    const region = slice(dx, ax, s, e);
    copyInto(region, g);
    region.dispose();
    return [dx];
  });
}

export function expand(t: Tensor, shape: Shape): Tensor {
  const lead = shape.length - t.ndim;
  if (lead < 0) throw new Error(`expand: cannot expand shape ${shapeStr(t.shape)} to fewer dims ${shapeStr(shape)}`);
  const target = shape.map((d, i) => (d === -1 ? t.shape[i - lead] : d));
  const strides = target.map((d, i) => {
    if (i < lead) return 0;
    const td = t.shape[i - lead];
    if (td === d) return t.strides[i - lead];
    if (td === 1) return 0;
    throw new Error(`expand: cannot expand shape ${shapeStr(t.shape)} to ${shapeStr(shape)}`);
  });
  const out = t.view(target, strides, t.offset);
  return record('expand', out, [t], (g) => [sumToShape(g, t.shape)]);
}

export function unsqueeze(t: Tensor, axis: number): Tensor {
  const ax = normAxis('unsqueeze', axis, t.ndim + 1);
  const shape = [...t.shape];
  shape.splice(ax, 0, 1);
  return reshape(t, shape);
}

export function squeeze(t: Tensor, axis?: number): Tensor {
  const shape = axis === undefined ? t.shape.filter((d) => d !== 1) : t.shape.filter((d, i) => i !== normAxis('squeeze', axis, t.ndim) || d !== 1);
  return reshape(t, shape);
}

export function flatten(t: Tensor, start = 0, end = -1): Tensor {
  const s = normAxis('flatten', start, t.ndim || 1);
  const e = normAxis('flatten', end, t.ndim || 1);
  const shape = [...t.shape.slice(0, s), numel(t.shape.slice(s, e + 1)), ...t.shape.slice(e + 1)];
  return reshape(t, shape);
}

/** Joins tensors along `axis`; all other dimensions must match. */
export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new Error('concat: needs at least one tensor');
  const first = tensors[0];
  const ax = normAxis('concat', axis, first.ndim);
  for (const t of tensors) {
    if (t.ndim !== first.ndim || t.shape.some((d, i) => i !== ax && d !== first.shape[i])) {
      throw new Error(`concat: shapes ${tensors.map((x) => shapeStr(x.shape)).join(', ')} differ outside axis ${axis}`);
    }
  }
  const shape = [...first.shape];
  shape[ax] = tensors.reduce((s, t) => s + t.shape[ax], 0);
  const out = empty(shape, promoteTypes(tensors));
  const bounds: [number, number][] = [];
  let at = 0;
  for (const t of tensors) {
    const region = slice(out, ax, at, at + t.shape[ax]);
    copyInto(region, t);
    region.dispose();
    bounds.push([at, at + t.shape[ax]]);
    at += t.shape[ax];
  }
  // Each input's gradient is its slice of g, as a view: consumers read strides (and the walk sums strided parts).
  return record('concat', out, tensors, (g) => bounds.map(([s, e], i) => (tensors[i].requiresGrad ? slice(g, ax, s, e) : null)));
}

/**
 * Pads with a constant. `pads` lists (before, after) pairs starting from the LAST axis, as torch.nn.functional.pad:
 * [left, right, top, bottom] pads W then H of an NCHW tensor.
 */
export function pad(t: Tensor, pads: readonly number[], value = 0): Tensor {
  if (pads.length % 2 !== 0 || pads.length / 2 > t.ndim) throw new Error(`pad: pads [${pads}] must be (before, after) pairs for at most ${t.ndim} axes`);
  if (pads.some((p) => !Number.isInteger(p) || p < 0)) throw new Error(`pad: pads [${pads}] must be non-negative integers`);
  const shape = [...t.shape];
  const starts = new Array<number>(t.ndim).fill(0);
  for (let k = 0; k < pads.length / 2; k++) {
    const ax = t.ndim - 1 - k;
    starts[ax] = pads[2 * k];
    shape[ax] += pads[2 * k] + pads[2 * k + 1];
  }
  const out = full(shape, value);
  let region = out.view(out.shape, out.strides, out.offset, false);
  for (let ax = 0; ax < t.ndim; ax++) {
    const next = slice(region, ax, starts[ax], starts[ax] + t.shape[ax]);
    region.dispose();
    region = next;
  }
  copyInto(region, t);
  region.dispose();
  return record('pad', out, [t], (g) => {
    let v: Tensor = g;
    for (let ax = 0; ax < t.ndim; ax++) {
      const next = slice(v, ax, starts[ax], starts[ax] + t.shape[ax]);
      if (v !== g) v.dispose();
      v = next;
    }
    const c = contiguous(v);
    if (c !== v) v.dispose();
    return [c];
  });
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    reshape(shape: Shape): Tensor;
    /** Alias of reshape (PyTorch's name). */
    view_(shape: Shape): Tensor;
    permute(dims: readonly number[]): Tensor;
    transpose(a?: number, b?: number): Tensor;
    /** Transpose of the last two axes. */
    readonly T: Tensor;
    slice(axis: number, start: number, end?: number): Tensor;
    expand(shape: Shape): Tensor;
    unsqueeze(axis: number): Tensor;
    squeeze(axis?: number): Tensor;
    flatten(start?: number, end?: number): Tensor;
    pad(pads: readonly number[], value?: number): Tensor;
    concat(others: readonly Tensor[], axis?: number): Tensor;
  }
}

Object.assign(Tensor.prototype, {
  reshape(this: Tensor, shape: Shape) { return reshape(this, shape); },
  view_(this: Tensor, shape: Shape) { return reshape(this, shape); },
  permute(this: Tensor, dims: readonly number[]) { return permute(this, dims); },
  transpose(this: Tensor, a?: number, b?: number) { return transpose(this, a, b); },
  slice(this: Tensor, axis: number, start: number, end?: number) { return slice(this, axis, start, end); },
  expand(this: Tensor, shape: Shape) { return expand(this, shape); },
  unsqueeze(this: Tensor, axis: number) { return unsqueeze(this, axis); },
  squeeze(this: Tensor, axis?: number) { return squeeze(this, axis); },
  flatten(this: Tensor, start?: number, end?: number) { return flatten(this, start, end); },
  pad(this: Tensor, pads: readonly number[], value?: number) { return pad(this, pads, value); },
  concat(this: Tensor, others: readonly Tensor[], axis?: number) { return concat([this, ...others], axis); },
});
Object.defineProperty(Tensor.prototype, 'T', {
  get(this: Tensor) {
    return transpose(this, -2, -1);
  },
});
