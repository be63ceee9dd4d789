/**
 * Float64 reductions over any set of axes with keepdim: sum, mean, max, min, var (correction 1 by default, as
 * PyTorch). Every input element is visited once and added into the output element it maps to.
 */
import { normAxesRef, numel, ravel, recordRef, ref, unravel, type RefTensor } from './ref-tensor.js';

type Axes = number | readonly number[] | undefined;

interface Plan {
  axes: number[];
  outShape: number[];
  /** Output flat index of every input element. */
  target: Int32Array;
  /** Elements reduced into each output. */
  count: number;
}

function plan(x: RefTensor, dims: Axes, keepdim: boolean): Plan {
  const axes = normAxesRef(dims, x.shape.length);
  const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const outShape = keepdim ? kept : x.shape.filter((_, i) => !axes.includes(i));
  const target = new Int32Array(x.data.length);
  for (let i = 0; i < x.data.length; i++) {
    const idx = unravel(i, x.shape).map((v, d) => (axes.includes(d) ? 0 : v));
    target[i] = ravel(idx, kept);
  }
  return { axes, outShape, target, count: numel(axes.map((a) => x.shape[a])) };
}

/** Spreads an output-shaped gradient back over the input: dx[i] = scale(i) * g[target(i)]. */
function spread(x: RefTensor, p: Plan, g: RefTensor, scale: (i: number) => number): RefTensor {
  return ref(x.shape, Array.from(x.data, (_, i) => g.data[p.target[i]] * scale(i)));
}

export function sumRef(x: RefTensor, dims?: Axes, keepdim = false): RefTensor {
  const p = plan(x, dims, keepdim);
  const y = ref(p.outShape);
  for (let i = 0; i < x.data.length; i++) y.data[p.target[i]] += x.data[i];
  return recordRef(y, 'sum', [x], (g) => [spread(x, p, g, () => 1)]);
}

export function meanRef(x: RefTensor, dims?: Axes, keepdim = false): RefTensor {
  const p = plan(x, dims, keepdim);
  const y = ref(p.outShape);
  for (let i = 0; i < x.data.length; i++) y.data[p.target[i]] += x.data[i] / p.count;
  return recordRef(y, 'mean', [x], (g) => [spread(x, p, g, () => 1 / p.count)]);
}

/**
 * max/min; NaN anywhere in a group gives NaN (as NumPy). The gradient is split evenly among the elements equal to
 * the extreme (the engine's rule; PyTorch's amax does the same).
 */
function extremeRef(op: 'max' | 'min', x: RefTensor, dims: Axes, keepdim: boolean): RefTensor {
  const p = plan(x, dims, keepdim);
  const better = (a: number, b: number) => (op === 'max' ? a > b : a < b);
  const y = ref(p.outShape, new Array(numel(p.outShape)).fill(op === 'max' ? -Infinity : Infinity));
  for (let i = 0; i < x.data.length; i++) {
    const o = p.target[i];
    const v = x.data[i];
    if (Number.isNaN(v) || Number.isNaN(y.data[o])) y.data[o] = NaN;
    else if (better(v, y.data[o])) y.data[o] = v;
  }
  const ties = new Float64Array(y.data.length);
  for (let i = 0; i < x.data.length; i++) if (x.data[i] === y.data[p.target[i]]) ties[p.target[i]]++;
  return recordRef(y, op, [x], (g) => [spread(x, p, g, (i) => (x.data[i] === y.data[p.target[i]] ? 1 / ties[p.target[i]] : 0))]);
}

export const maxRef = (x: RefTensor, dims?: Axes, keepdim = false): RefTensor => extremeRef('max', x, dims, keepdim);
export const minRef = (x: RefTensor, dims?: Axes, keepdim = false): RefTensor => extremeRef('min', x, dims, keepdim);

/** sum((x - mean)^2) / (n - correction). d/dx_i = 2 (x_i - mean) / (n - correction) (the mean's own term sums to 0). */
export function varRef(x: RefTensor, dims?: Axes, keepdim = false, correction = 1): RefTensor {
  const p = plan(x, dims, keepdim);
  const mean = new Float64Array(numel(p.outShape));
  for (let i = 0; i < x.data.length; i++) mean[p.target[i]] += x.data[i] / p.count;
  const denom = Math.max(p.count - correction, 0);
  const y = ref(p.outShape);
  for (let i = 0; i < x.data.length; i++) y.data[p.target[i]] += (x.data[i] - mean[p.target[i]]) ** 2;
  for (let o = 0; o < y.data.length; o++) y.data[o] /= denom;
  return recordRef(y, 'var', [x], (g) => [spread(x, p, g, (i) => (2 * (x.data[i] - mean[p.target[i]])) / denom)]);
}
