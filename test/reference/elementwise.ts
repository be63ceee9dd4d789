/**
 * Float64 references of every op in src/ops/elementwise-table.ts (unary, binary with NumPy broadcasting, where),
 * each with its derivative written out by hand. The tables are typed by the engine's op names, so an op added to
 * the engine without a reference here fails to typecheck.
 */
import type { BinaryName, UnaryName } from '../../src/ops/elementwise-table.js';
import { broadcastIndex, broadcastShape, numel, recordRef, ref, sumToShape, unravel, type RefTensor } from './ref-tensor.js';
import { erf, normalCdf, normalPdf, sigmoid } from './special.js';

interface UnaryRef {
  f: (x: number, s0: number, s1: number) => number;
  /** dy/dx; absent where the engine records no gradient (piecewise-constant ops). */
  df?: (x: number, y: number, s0: number, s1: number) => number;
}

const K = Math.sqrt(2 / Math.PI);
const geluTanh = (x: number): number => 0.5 * x * (1 + Math.tanh(K * (x + 0.044715 * x ** 3)));
const geluTanhGrad = (x: number): number => {
  const t = Math.tanh(K * (x + 0.044715 * x ** 3));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * K * (1 + 3 * 0.044715 * x * x);
};

export const UNARY_REF: Record<UnaryName, UnaryRef> = {
  neg: { f: (x) => -x, df: () => -1 },
  exp: { f: Math.exp, df: (x) => Math.exp(x) },
  log: { f: Math.log, df: (x) => 1 / x },
  sqrt: { f: Math.sqrt, df: (x) => 0.5 / Math.sqrt(x) },
  rsqrt: { f: (x) => 1 / Math.sqrt(x), df: (x) => -0.5 * x ** -1.5 },
  abs: { f: Math.abs, df: (x) => Math.sign(x) },
  sign: { f: Math.sign },
  square: { f: (x) => x * x, df: (x) => 2 * x },
  reciprocal: { f: (x) => 1 / x, df: (x) => -1 / (x * x) },
  sin: { f: Math.sin, df: Math.cos },
  cos: { f: Math.cos, df: (x) => -Math.sin(x) },
  tanh: { f: Math.tanh, df: (x) => 1 - Math.tanh(x) ** 2 },
  sigmoid: { f: sigmoid, df: (x) => sigmoid(x) * (1 - sigmoid(x)) },
  relu: { f: (x) => Math.max(x, 0), df: (x) => (x <= 0 ? 0 : 1) },
  silu: { f: (x) => x * sigmoid(x), df: (x) => sigmoid(x) * (1 + x * (1 - sigmoid(x))) },
  gelu: { f: (x) => x * normalCdf(x), df: (x) => normalCdf(x) + x * normalPdf(x) },
  geluTanh: { f: geluTanh, df: geluTanhGrad },
  softplus: { f: (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))), df: sigmoid },
  powScalar: { f: (x, e) => Math.pow(x, e), df: (x, _y, e) => (e === 0 ? 0 : e * Math.pow(x, e - 1)) },
  clamp: { f: (x, lo, hi) => Math.min(Math.max(x, lo), hi), df: (x, _y, lo, hi) => (x >= lo && x <= hi ? 1 : 0) },
  addScalar: { f: (x, s) => x + s, df: () => 1 },
  mulScalar: { f: (x, s) => x * s, df: (_x, _y, s) => s },
  rsubScalar: { f: (x, s) => s - x, df: () => -1 },
  rdivScalar: { f: (x, s) => s / x, df: (x, _y, s) => -s / (x * x) },
  wrapPhase: { f: (x) => x - 2 * Math.PI * Math.floor(x / (2 * Math.PI)), df: () => 1 },
  isfinite: { f: (x) => (Number.isFinite(x) ? 1 : 0) },
};

export function unaryRef(op: UnaryName, x: RefTensor, scalars: readonly number[] = []): RefTensor {
  const [s0 = 0, s1 = 0] = scalars;
  const { f, df } = UNARY_REF[op];
  const y = ref(x.shape, Array.from(x.data, (v) => f(v, s0, s1)));
  if (!df) return y;
  return recordRef(y, op, [x], (g) => [ref(x.shape, Array.from(x.data, (v, i) => g.data[i] * df(v, y.data[i], s0, s1)))]);
}

interface BinaryRef {
  f: (a: number, b: number) => number;
  /** Partial derivatives, with PyTorch's values at the edges (ties of maximum/minimum split in halves). */
  da?: (a: number, b: number, y: number) => number;
  db?: (a: number, b: number, y: number) => number;
}

export const BINARY_REF: Record<BinaryName, BinaryRef> = {
  add: { f: (a, b) => a + b, da: () => 1, db: () => 1 },
  sub: { f: (a, b) => a - b, da: () => 1, db: () => -1 },
  mul: { f: (a, b) => a * b, da: (_a, b) => b, db: (a) => a },
  div: { f: (a, b) => a / b, da: (_a, b) => 1 / b, db: (a, b) => -(a / b) / b },
  maximum: { f: Math.max, da: (a, b) => (a === b ? 0.5 : a < b ? 0 : 1), db: (a, b) => (a === b ? 0.5 : a > b ? 0 : 1) },
  minimum: { f: Math.min, da: (a, b) => (a === b ? 0.5 : a > b ? 0 : 1), db: (a, b) => (a === b ? 0.5 : a < b ? 0 : 1) },
  // PyTorch's rules: d/da = 0 where b = 0; d/db = 0 where a = 0 and b >= 0, else a^b·log a (NaN for a < 0).
  pow: { f: Math.pow, da: (a, b) => (b === 0 ? 0 : b * Math.pow(a, b - 1)), db: (a, b, y) => (a === 0 && b >= 0 ? 0 : y * Math.log(a)) },
  gt: { f: (a, b) => (a > b ? 1 : 0) },
  ge: { f: (a, b) => (a >= b ? 1 : 0) },
  lt: { f: (a, b) => (a < b ? 1 : 0) },
  le: { f: (a, b) => (a <= b ? 1 : 0) },
  eq: { f: (a, b) => (a === b ? 1 : 0) },
  ne: { f: (a, b) => (a !== b ? 1 : 0) },
};

export function binaryRef(op: BinaryName, a: RefTensor, b: RefTensor): RefTensor {
  const { f, da, db } = BINARY_REF[op];
  const shape = broadcastShape(a.shape, b.shape);
  const n = numel(shape);
  const av = new Float64Array(n);
  const bv = new Float64Array(n);
  const y = ref(shape);
  for (let i = 0; i < n; i++) {
    const idx = unravel(i, shape);
    av[i] = a.data[broadcastIndex(idx, a.shape)];
    bv[i] = b.data[broadcastIndex(idx, b.shape)];
    y.data[i] = f(av[i], bv[i]);
  }
  if (!da || !db) return y;
  return recordRef(y, op, [a, b], (g) => {
    const ga = ref(shape, Array.from(g.data, (gv, i) => gv * da(av[i], bv[i], y.data[i])));
    const gb = ref(shape, Array.from(g.data, (gv, i) => gv * db(av[i], bv[i], y.data[i])));
    return [sumToShape(ga, a.shape), sumToShape(gb, b.shape)];
  });
}

/** `cond ? a : b` with broadcasting over all three; cond gets no gradient. */
export function whereRef(cond: RefTensor, a: RefTensor, b: RefTensor): RefTensor {
  const shape = broadcastShape(cond.shape, a.shape, b.shape);
  const n = numel(shape);
  const c = new Array<boolean>(n);
  const y = ref(shape);
  for (let i = 0; i < n; i++) {
    const idx = unravel(i, shape);
    c[i] = cond.data[broadcastIndex(idx, cond.shape)] !== 0;
    y.data[i] = c[i] ? a.data[broadcastIndex(idx, a.shape)] : b.data[broadcastIndex(idx, b.shape)];
  }
  return recordRef(y, 'where', [cond, a, b], (g) => [
    null,
    sumToShape(ref(shape, Array.from(g.data, (v, i) => (c[i] ? v : 0))), a.shape),
    sumToShape(ref(shape, Array.from(g.data, (v, i) => (c[i] ? 0 : v))), b.shape),
  ]);
}

// Convenience names, so composite references read like the engine code they check.
export const addRef = (a: RefTensor, b: RefTensor): RefTensor => binaryRef('add', a, b);
export const subRef = (a: RefTensor, b: RefTensor): RefTensor => binaryRef('sub', a, b);
export const mulRef = (a: RefTensor, b: RefTensor): RefTensor => binaryRef('mul', a, b);
export const divRef = (a: RefTensor, b: RefTensor): RefTensor => binaryRef('div', a, b);
export { erf };
