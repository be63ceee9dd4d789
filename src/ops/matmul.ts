import { record } from '../autograd/graph.js';
import { Tensor, contiguousCopy, empty } from '../tensor/tensor.js';
import { broadcastShapes, numel, shapeStr } from '../tensor/shape.js';
import type { DType } from '../tensor/dtype.js';
import { matmulConfigFor } from './autotune.js';
import { DEFAULT_GENERAL, engineRecorder, runMatmul, type MatmulConfig, type MatOperand } from './matmul-kernels.js';
import { expand, reshape, transpose } from './shape-ops.js';

export type { MatmulConfig } from './matmul-kernels.js';

export interface MatmulTiles {
  TM: number;
  TN: number;
  WX: number;
  WY: number;
}

/** Tiles of the general (any-stride) kernel, which runs small products and whatever the fast kernels cannot. */
let tiles: MatmulTiles = { TM: DEFAULT_GENERAL.TM, TN: DEFAULT_GENERAL.TN, WX: DEFAULT_GENERAL.WX, WY: DEFAULT_GENERAL.WY };
export function setMatmulTiles(t: MatmulTiles): void {
  tiles = { ...t };
}
export function getMatmulTiles(): MatmulTiles {
  return { ...tiles };
}

/**
 * Below this many multiply-adds (or with fewer than 8 rows or columns) the general kernel runs: the fast kernels
 * pack their operands first and compute whole 32 x 32 tiles, which costs more than it saves on small products.
 */
const SMALL_PRODUCT = 1 << 18;

function chooseConfig(t: Tensor, M: number, N: number, K: number): MatmulConfig {
  if (M < 8 || N < 8 || M * N * K < SMALL_PRODUCT) return { kernel: 'general', ...tiles };
  return matmulConfigFor(t.device);
}

/** One stride that walks all batch dims of a view, or null when they cannot be walked with one stride. */
function batchStride(t: Tensor, batchRank: number): number | null {
  let stride: number | null = null;
  for (let i = batchRank - 1; i >= 0; i--) {
    if (t.shape[i] === 1) continue;
    if (stride === null) {
      stride = t.strides[i];
      continue;
    }
    const inner = numel(t.shape.slice(i + 1, batchRank));
    if (t.strides[i] !== stride * inner) return null;
  }
  return stride ?? 0;
}

/** The result type of a product without an explicit one: float16 when both operands are, else float32. */
export function matmulResultType(a: Tensor, b: Tensor): DType {
  return a.dtype === 'float16' && b.dtype === 'float16' ? 'float16' : 'float32';
}

/** What `matmulInto` adds as it stores C (see MatEpilogue in src/ops/matmul-kernels.ts). */
export interface MatmulEpilogue {
  /** f32 [N], added to every row. */
  bias?: Tensor;
  /** Dense, of C's shape and type, added to C. */
  residual?: Tensor;
  /** Add A·B to what `out` holds instead of overwriting it. */
  accumulate?: boolean;
  /** f32 [batch·M]: receives Σ_k A[row, k] (accumulated with `accumulate`). */
  rowsum?: Tensor;
}

/**
 * out (dense [batch, M, N]) = A · B (+ the epilogue) on [batch, M, K] x [batch, K, N] views with any strides. No
 * autograd. `config` forces a kernel (tests, benchmarks, the autotuner); by default small products take the general
 * kernel and the rest the kernel tuned for this adapter. Operands may be float16 (loaded as such, summed in f32).
 */
export function matmulInto(a: Tensor, b: Tensor, batchShape: readonly number[], out: Tensor, epilogue: MatmulEpilogue = {}, config?: MatmulConfig): void {
  const r = batchShape.length;
  const [M, K] = [a.shape[r], a.shape[r + 1]];
  const N = b.shape[r + 1];
  if (b.shape[r] !== K) throw new Error(`matmul: inner dimensions differ: ${shapeStr(a.shape)} · ${shapeStr(b.shape)} (${K} vs ${b.shape[r]})`);
  for (const t of [a, b]) if (t.dtype === 'int32') throw new Error(`matmul: operands must be float32 or float16, got int32 (shape ${shapeStr(t.shape)})`);
  const batch = numel(batchShape);
  if (!out.isContiguous || out.size !== batch * M * N) throw new Error(`internal: matmul output ${shapeStr(out.shape)} is not a dense [${batchShape}, ${M}, ${N}]`);
  const { bias, residual, rowsum } = epilogue;
  if (bias && (bias.dtype !== 'float32' || bias.size !== N || !bias.isContiguous)) throw new Error(`internal: matmul bias must be a dense float32 [${N}]`);
  if (residual && (!residual.isContiguous || residual.size !== out.size || residual.dtype !== out.dtype)) throw new Error('internal: matmul residual must be dense, of the output shape and type');
  if (rowsum && (rowsum.dtype !== 'float32' || rowsum.size !== batch * M || !rowsum.isContiguous)) throw new Error(`internal: matmul rowsum must be a dense float32 [${batch * M}]`);
  if (M === 0 || N === 0 || batch === 0) return;
  // Batch dims that one stride cannot walk (a broadcast over some of them only) are materialised.
  let abs = batchStride(a, r);
  const A = abs === null ? contiguousCopy(a) : a;
  abs ??= M * K;
  let bbs = batchStride(b, r);
  const B = bbs === null ? contiguousCopy(b) : b;
  bbs ??= K * N;
  const opA: MatOperand = { buffer: A.binding, off: A.offset, bs: abs, rs: A.strides[r], cs: A.strides[r + 1], dtype: A.dtype };
  // B goes in transposed, as [batch, N, K]: the same view with its last two strides swapped.
  const opB: MatOperand = { buffer: B.binding, off: B.offset, bs: bbs, rs: B.strides[r + 1], cs: B.strides[r], dtype: B.dtype };
  const dev = out.device;
  runMatmul(dev, engineRecorder(dev), config ?? chooseConfig(out, M, N, K), opA, opB, out.binding, { batch, M, N, K }, out.dtype, {
    bias: bias && { buffer: bias.binding, off: bias.offset },
    res: residual && { buffer: residual.binding, off: residual.offset },
    accumulate: epilogue.accumulate,
    rowsum: rowsum && { buffer: rowsum.binding, off: rowsum.offset },
  }, out.offset);
  if (A !== a) A.dispose();
  if (B !== b) B.dispose();
}

/**
 * C = A · B on [batch, M, K] x [batch, K, N] views (any strides) into a new dense [batch, M, N] of type `dtype`. No
 * autograd (see matmulInto).
 */
export function matmulRaw(a: Tensor, b: Tensor, batchShape: readonly number[], config?: MatmulConfig, dtype: DType = matmulResultType(a, b)): Tensor {
  const r = batchShape.length;
  if (b.shape[r] !== a.shape[r + 1]) throw new Error(`matmul: inner dimensions differ: ${shapeStr(a.shape)} · ${shapeStr(b.shape)} (${a.shape[r + 1]} vs ${b.shape[r]})`);
  const out = empty([...batchShape, a.shape[r], b.shape[r + 1]], dtype);
  matmulInto(a, b, batchShape, out, {}, config);
  return out;
}

export interface MatmulOptions {
  /** Element type of the result (default: float16 when both operands are float16, else float32). */
  dtype?: DType;
}

/**
 * Matrix product with NumPy/PyTorch semantics: 1-D operands are promoted (and the added axis removed after),
 * batch dimensions broadcast. Backward: dA = G · Bᵀ, dB = Aᵀ · G, each summed over broadcast batch dims.
 * float16 operands are read as f16 and summed in f32 (mixed f16/f32 operands too); each gradient has its
 * operand's type.
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  if (a.ndim === 0 || b.ndim === 0) throw new Error('matmul: both operands need at least one dimension (use mul for scalars)');
  const a2 = a.ndim === 1 ? reshape(a, [1, a.shape[0]]) : a;
  const b2 = b.ndim === 1 ? reshape(b, [b.shape[0], 1]) : b;
  const K = a2.shape[a2.ndim - 1];
  if (b2.shape[b2.ndim - 2] !== K) {
    throw new Error(`matmul: inner dimensions differ: ${shapeStr(a.shape)} · ${shapeStr(b.shape)} (${K} vs ${b2.shape[b2.ndim - 2]})`);
  }
  const batchShape = broadcastShapes('matmul', a2.shape.slice(0, -2), b2.shape.slice(0, -2));
  const ae = expand(a2, [...batchShape, ...a2.shape.slice(-2)]);
  const be = expand(b2, [...batchShape, ...b2.shape.slice(-2)]);
  let y = matmulRaw(ae, be, batchShape, undefined, opts.dtype);
  y = record(
    'matmul',
    y,
    [ae, be],
    (g, [as, bs]) => [
      ae.requiresGrad ? matmulTransposed(g, bs, 'b', batchShape, ae.dtype) : null,
      be.requiresGrad ? matmulTransposed(as, g, 'a', batchShape, be.dtype) : null,
    ],
    [ae, be],
  );
  // The views are graph nodes only as objects; their storage references can go now.
  for (const v of [a2, b2, ae, be]) if (v !== a && v !== b) v.dispose();
  let out = y;
  if (a.ndim === 1) out = squeezeInto(out, [...batchShape, out.shape[out.ndim - 1]]);
  if (b.ndim === 1) out = squeezeInto(out, out.shape.slice(0, -1));
  return out;
}

function squeezeInto(t: Tensor, shape: number[]): Tensor {
  const r = reshape(t, shape);
  if (r !== t) t.dispose();
  return r;
}

/** x · yᵀ or xᵀ · y through a transposed view (no copy), as `dtype`. */
function matmulTransposed(x: Tensor, y: Tensor, which: 'a' | 'b', batchShape: readonly number[], dtype: DType): Tensor {
  const v = transpose(which === 'a' ? x : y, -1, -2);
  const out = which === 'a' ? matmulRaw(v, y, batchShape, undefined, dtype) : matmulRaw(x, v, batchShape, undefined, dtype);
  v.dispose();
  return out;
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    matmul(b: Tensor, opts?: MatmulOptions): Tensor;
  }
}
Tensor.prototype.matmul = function (this: Tensor, b: Tensor, opts?: MatmulOptions) {
  return matmul(this, b, opts);
};
