import template from '../../shaders/matmul.wgsl';
import { record } from '../autograd/graph.js';
import { Tensor, empty } from '../tensor/tensor.js';
import { broadcastShapes, numel, shapeStr } from '../tensor/shape.js';
import { contiguous } from './copy.js';
import { expand, reshape, transpose } from './shape-ops.js';

export interface MatmulTiles {
  TM: number;
  TN: number;
  WX: number;
  WY: number;
}

/** Default tile shape; `setMatmulTiles` (the autotuner) may replace it per adapter. */
let tiles: MatmulTiles = { TM: 4, TN: 4, WX: 8, WY: 8 };
export function setMatmulTiles(t: MatmulTiles): void {
  tiles = { ...t };
}
export function getMatmulTiles(): MatmulTiles {
  return { ...tiles };
}

const sources = new Map<string, string>();
function matmulSource(tm: number, tn: number): string {
  const key = `${tm}x${tn}`;
  let s = sources.get(key);
  if (!s) {
    s = template.replace('/*TM*/4u', `${tm}u`).replace('/*TN*/4u', `${tn}u`);
    sources.set(key, s);
  }
  return s;
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

/** C = A · B on [batch, M, K] x [batch, K, N] views (any strides) into a new dense [batch, M, N]. No autograd. */
export function matmulRaw(a: Tensor, b: Tensor, batchShape: readonly number[], t: MatmulTiles = tiles): Tensor {
  const r = batchShape.length;
  const [M, K] = [a.shape[r], a.shape[r + 1]];
  const N = b.shape[r + 1];
  const batch = numel(batchShape);
  const out = empty([...batchShape, M, N]);
  if (M === 0 || N === 0 || batch === 0) return out;
  let A = a;
  let B = b;
  let abs = batchStride(A, r);
  if (abs === null) {
    A = contiguous(a);
    abs = M * K;
  }
  let bbs = batchStride(B, r);
  if (bbs === null) {
    B = contiguous(b);
    bbs = K * N;
  }
  const dev = out.device;
  const u = new Uint32Array([M, N, K, 0, A.offset, abs, A.strides[r], A.strides[r + 1], B.offset, bbs, B.strides[r], B.strides[r + 1]]);
  if (batch > dev.limits.maxComputeWorkgroupsPerDimension) throw new Error(`matmul: batch of ${batch} exceeds the device's dispatch limit`);
  dev.dispatch({
    name: 'matmul',
    pipeline: dev.pipeline('matmul', matmulSource(t.TM, t.TN), { WX: t.WX, WY: t.WY }),
    buffers: [A.buffer, B.buffer, out.buffer],
    uniform: u,
    workgroups: [Math.ceil(N / (t.WX * t.TN)), Math.ceil(M / (t.WY * t.TM)), batch],
    flops: 2 * batch * M * N * K,
    bytes: 4 * batch * (M * K + K * N + M * N),
  });
  if (A !== a) A.dispose();
  if (B !== b) B.dispose();
  return out;
}

/**
 * Matrix product with NumPy/PyTorch semantics: 1-D operands are promoted (and the added axis removed after),
 * batch dimensions broadcast. Backward: dA = G · Bᵀ, dB = Aᵀ · G, each summed over broadcast batch dims.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
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
  let y = matmulRaw(ae, be, batchShape);
  y = record(
    'matmul',
    y,
    [ae, be],
    (g, [as, bs]) => [ae.requiresGrad ? matmulTransposed(g, bs, 'b', batchShape) : null, be.requiresGrad ? matmulTransposed(as, g, 'a', batchShape) : null],
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

/** x · yᵀ or xᵀ · y through a transposed view (no copy). */
function matmulTransposed(x: Tensor, y: Tensor, which: 'a' | 'b', batchShape: readonly number[]): Tensor {
  const v = transpose(which === 'a' ? x : y, -1, -2);
  const out = which === 'a' ? matmulRaw(v, y, batchShape) : matmulRaw(x, v, batchShape);
  v.dispose();
  return out;
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    matmul(b: Tensor): Tensor;
  }
}
Tensor.prototype.matmul = function (this: Tensor, b: Tensor) {
  return matmul(this, b);
};
