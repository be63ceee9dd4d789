import portableForwardKernel from '../../shaders/attention-forward.wgsl';
import portableLib from '../../shaders/attention-portable-lib.wgsl';
import subgroupForwardKernel from '../../shaders/attention-forward-subgroup.wgsl';
import subgroupLib from '../../shaders/attention-subgroup-lib.wgsl';
import { noGrad, record } from '../autograd/graph.js';
import { Tensor, empty } from '../tensor/tensor.js';
import { shapeStr } from '../tensor/shape.js';
import type { DType } from '../tensor/dtype.js';
import { softmax } from './softmax.js';
import { cast } from './cast.js';
import { withTypes } from './wgsl-types.js';
import { concat, reshape, slice, transpose } from './shape-ops.js';
import { attentionBackward } from './attention-backward.js';
import {
  MAX_HEAD_DIM,
  attentionParams,
  attentionShapes,
  attentionSource,
  headView,
  outputView,
  releaseView,
  useSubgroupKernels,
  portableWorkgroupSize,
} from './attention-views.js';

export { MAX_HEAD_DIM, setAttentionKernel, type AttentionKernel } from './attention-views.js';

export interface AttentionOptions {
  /** Multiplier of the scores before softmax; default 1/sqrt(headDim of q). */
  scale?: number;
  /** Element type of the output (default: float16 when q, k and v all are, else float32). */
  dtype?: DType;
}

/** Portable kernel: keys per block of the online softmax (one rescale of the accumulator per block). */
/** Kernel sources with their shared parts (uniform layout, helpers) prepended. */
const subgroupForward = `${subgroupLib}\n${subgroupForwardKernel}`;
const portableForward = `${portableLib}\n${portableForwardKernel}`;

const BLOCK_KEYS = 8;
/**
 * Subgroup kernel: query rows per lane (each loaded k/v element then feeds 8·R queries). 8 spills registers but
 * still wins on long sequences. Lavapipe, 2 heads of 8192 queries and keys: 21.9 → 26.8 GFLOP/s at head dim 16,
 * 26.5 → 32.0 at 64; 4 heads of 4096 at 32: 24.9 → 32.0; R = 16 halves the speed. The shipped model's 256² restore
 * spends 8.1 s instead of 10.0 s in attention. R = 8 compiles ~10× slower, so short sequences, where it gains
 * nothing, keep 4.
 */
function rowsPerLane(lq: number): number {
  return lq >= 1024 ? 8 : 4;
}

/**
 * The fused forward: returns O [B,H,Lq,Dv] (of type `dtype`) and the per-row logsumexp [B,H,Lq] (float32). No
 * autograd. q, k, v may each be float16: loaded as f16, scores and sums in f32.
 */
export function attentionForwardRaw(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  scale: number,
  dtype: DType = attentionResultType(q, k, v),
  /** Write O into this [B, H, Lq, Dv] view (e.g. of a merged-head [B, Lq, H·Dv] tensor) instead of a new tensor. */
  into?: Tensor,
): { out: Tensor; lse: Tensor } {
  const { B, H, Lq, Lk, Dk, Dv } = attentionShapes('scaledDotProductAttention', q, k, v);
  if (Dk > MAX_HEAD_DIM || Dv > MAX_HEAD_DIM) throw new Error(`attentionForwardRaw: head dimensions above ${MAX_HEAD_DIM} are not fused (got ${Dk}, ${Dv})`);
  const out = into ?? empty([B, H, Lq, Dv], dtype);
  const lse = empty([B, H, Lq]);
  if (B * H * Lq === 0) return { out, lse };
  const [qv, kv, vv] = [headView(q), headView(k), headView(v)];
  const dev = out.device;
  const sg = useSubgroupKernels(dev);
  const WG = portableWorkgroupSize(dev);
  const R = rowsPerLane(Lq);
  const rowsPerGroup = sg ? 8 * R : WG;
  const types = { QT: q.dtype, KT: k.dtype, VT: v.dtype, OT: dtype };
  dev.dispatch({
    name: 'attention_forward',
    pipeline: sg
      ? dev.pipeline('attention_forward_subgroup', withTypes(attentionSource(subgroupForward, { DK: Dk, DV: Dv, R }), types))
      : dev.pipeline('attention_forward', withTypes(attentionSource(portableForward, { DK: Dk, DV: Dv, BC: BLOCK_KEYS }), types), { WG }),
    buffers: [qv.t.binding, kv.t.binding, vv.t.binding, out.binding, lse.binding],
    uniform: attentionParams(Lq, Lk, H, { q: qv, k: kv, v: vv, o: outputView(out) }, scale, Dk, Dv),
    workgroups: [Math.ceil(Lq / rowsPerGroup), H, B],
    flops: 2 * B * H * Lq * Lk * (Dk + Dv),
    bytes: 4 * B * H * (Lq * (Dk + Dv + 1) + Lk * (Dk + Dv)),
  });
  releaseView(qv, q);
  releaseView(kv, k);
  releaseView(vv, v);
  return { out, lse };
}

/**
 * softmax(scale · q kᵀ) · v on [batch, heads, length, headDim] tensors, fused: the Lq x Lk score matrix is never
 * stored (memory grows with the length, not its square), so it also runs where that matrix would not fit a
 * storage binding. k and v may be longer or shorter than q (cross-attention); v's head dimension may differ from
 * q/k's. q, k, v may be strided views with a dense last axis (e.g. [B, L, H, D] transposed) without a copy.
 * Backward (FlashAttention-2 style) recomputes the probabilities blockwise from the saved logsumexp.
 * Heads wider than MAX_HEAD_DIM (the VAE's single 512-wide head) take `attentionChunked` instead.
 * float16 q/k/v run the fused forward on f16 loads (f32 scores and softmax); the backward pass converts the saved
 * tensors to f32 and returns each gradient in its input's type.
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const { Dk, Dv } = attentionShapes('scaledDotProductAttention', q, k, v);
  const scale = opts.scale ?? 1 / Math.sqrt(Dk);
  const dtype = opts.dtype ?? attentionResultType(q, k, v);
  if (Dk > MAX_HEAD_DIM || Dv > MAX_HEAD_DIM) {
    // The chunked composite's softmax is f32-only: widen (differentiably) and round the result back.
    const wide = [q, k, v].map((t) => cast(t, 'float32'));
    const y = attentionChunked(wide[0], wide[1], wide[2], scale);
    wide.forEach((t, i) => t !== [q, k, v][i] && t.dispose());
    const out = cast(y, dtype);
    if (out !== y) y.dispose();
    return out;
  }
  const { out, lse } = noGrad(() => attentionForwardRaw(q, k, v, scale, dtype));
  const y = record(
    'scaledDotProductAttention',
    out,
    [q, k, v],
    (g, saved) => {
      // The backward kernels are f32: float16 saved tensors and gradient are widened for them.
      const [qs, ks, vs, os, gs] = [...saved.slice(0, 4), g].map((t) => (t.dtype === 'float32' ? t : cast(t, 'float32')));
      // dQ's kernel also computes D = rowsum(dO * O), which dK/dV need: it always runs.
      const { dq, dk, dv } = attentionBackward(qs, ks, vs, os, saved[4], gs, scale, k.requiresGrad || v.requiresGrad);
      [qs, ks, vs, os, gs].forEach((t, i) => t !== [...saved.slice(0, 4), g][i] && t.dispose());
      const inputs = [q, k, v];
      return [dq, dk, dv].map((t, i) => {
        if (!t) return null;
        if (!inputs[i].requiresGrad) {
          t.dispose();
          return null;
        }
        const r = cast(t, inputs[i].dtype);
        if (r !== t) t.dispose();
        return r;
      });
    },
    [q, k, v, out, lse],
  );
  lse.dispose(); // the tape holds its own reference when it needs one
  return y;
}

/** The output type without an explicit one: float16 when q, k and v all are, else float32. */
function attentionResultType(q: Tensor, k: Tensor, v: Tensor): DType {
  return [q, k, v].every((t) => t.dtype === 'float16') ? 'float16' : 'float32';
}

/** Bytes of scores one chunk of `attentionChunked` may hold. */
const CHUNK_SCORE_BYTES = 64 << 20;

/**
 * Attention for heads too wide for the fused kernels: the composite over chunks of queries, so each chunk's
 * [B, H, chunk, Lk] score matrix stays within CHUNK_SCORE_BYTES (and the storage binding limit) at any length.
 * Memory grows with the chunk, not Lq·Lk; autograd runs through the composite's ops.
 */
export function attentionChunked(q: Tensor, k: Tensor, v: Tensor, scale: number): Tensor {
  const { B, H, Lq, Lk } = attentionShapes('attentionChunked', q, k, v);
  const budget = Math.min(CHUNK_SCORE_BYTES, q.device.limits.maxStorageBufferBindingSize);
  const rows = Math.max(1, Math.floor(budget / (4 * Math.max(1, B * H * Lk))));
  if (rows >= Lq) return attentionComposite(q, k, v, { scale });
  const parts: Tensor[] = [];
  for (let i = 0; i < Lq; i += rows) {
    const qi = slice(q, 2, i, i + rows);
    parts.push(attentionComposite(qi, k, v, { scale }));
    qi.dispose();
  }
  const out = concat(parts, 2);
  for (const p of parts) p.dispose();
  return out;
}

/** The unfused reference: matmul, softmax, matmul (stores the full score matrix). For tests and benchmarks. */
export function attentionComposite(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  attentionShapesLoose('attentionComposite', q, k, v);
  const scale = opts.scale ?? 1 / Math.sqrt(q.shape[q.ndim - 1]);
  const kt = transpose(k, -2, -1);
  const s = q.matmul(kt);
  const ss = s.mul(scale);
  const pr = softmax(ss, -1);
  const y = pr.matmul(v);
  for (const t of [kt, s, ss, pr]) t.dispose();
  return y;
}

function attentionShapesLoose(op: string, q: Tensor, k: Tensor, v: Tensor): void {
  const all = `q ${shapeStr(q.shape)}, k ${shapeStr(k.shape)}, v ${shapeStr(v.shape)}`;
  if (q.shape[q.ndim - 1] !== k.shape[k.ndim - 1]) throw new Error(`${op}: head dimension of k (${k.shape[k.ndim - 1]}) differs from q's (${q.shape[q.ndim - 1]}); got ${all}`);
  if (k.shape[k.ndim - 2] !== v.shape[v.ndim - 2]) throw new Error(`${op}: k and v must have the same length; got ${all}`);
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    /** Fused attention with this tensor as q; see scaledDotProductAttention. */
    scaledDotProductAttention(k: Tensor, v: Tensor, opts?: AttentionOptions): Tensor;
  }
}
Tensor.prototype.scaledDotProductAttention = function (this: Tensor, k: Tensor, v: Tensor, opts?: AttentionOptions) {
  return scaledDotProductAttention(this, k, v, opts);
};

/**
 * Multi-head attention on merged-head tensors, as diffusers' Attention computes it between its projections:
 * q [B, Lq, H·Dk], k [B, Lk, H·Dk], v [B, Lk, H·Dv] → [B, Lq, H·Dv], softmax(scale · q kᵀ) v per head. The kernels
 * read the heads as strided views and write the output, and in backward dQ, dK and dV, straight into merged-head
 * layouts, so splitting and merging heads costs no copies in either direction. float16 inputs and heads wider
 * than MAX_HEAD_DIM take scaledDotProductAttention on split views (with the copies).
 */
export function multiHeadAttention(q: Tensor, k: Tensor, v: Tensor, heads: number, opts: AttentionOptions = {}): Tensor {
  for (const [name, t] of [['q', q], ['k', k], ['v', v]] as const) {
    if (t.ndim !== 3) throw new Error(`multiHeadAttention: ${name} must be [batch, length, heads·headDim], got ${shapeStr(t.shape)}`);
    if (t.shape[2] % heads) throw new Error(`multiHeadAttention: ${name} has ${t.shape[2]} features, not divisible by ${heads} heads (shape ${shapeStr(t.shape)})`);
  }
  const [B, Lq] = q.shape;
  const Dk = q.shape[2] / heads;
  const Dv = v.shape[2] / heads;
  // [B, L, H·D] → a [B, H, L, D] view (of a dense copy when t is not dense); every intermediate handle released.
  const split = (t: Tensor) => {
    const d = t.contiguous();
    const r = reshape(d, [t.shape[0], t.shape[1], heads, t.shape[2] / heads]);
    const out = r.permute([0, 2, 1, 3]);
    if (r !== d) r.dispose();
    if (d !== t) d.dispose();
    return out;
  };
  if ([q, k, v].some((t) => t.dtype !== 'float32') || Dk > MAX_HEAD_DIM || Dv > MAX_HEAD_DIM) {
    const [qh, kh, vh] = [q, k, v].map(split);
    const o = scaledDotProductAttention(qh, kh, vh, opts);
    const merged = o.permute([0, 2, 1, 3]).reshape([B, Lq, heads * Dv]);
    for (const t of [qh, kh, vh, o]) t.dispose();
    return merged;
  }
  const scale = opts.scale ?? 1 / Math.sqrt(Dk);
  const [q4, k4, v4] = noGrad(() => [q, k, v].map(split));
  attentionShapes('multiHeadAttention', q4, k4, v4);
  const out = empty([B, Lq, heads * Dv]);
  const o4 = noGrad(() => split(out));
  const { lse } = noGrad(() => attentionForwardRaw(q4, k4, v4, scale, 'float32', o4));
  for (const t of [q4, k4, v4, o4]) t.dispose();
  const y = record(
    'multiHeadAttention',
    out,
    [q, k, v],
    (g, [qs, ks, vs, os, ls]) => {
      const gc = g.contiguous();
      const wantKV = k.requiresGrad || v.requiresGrad;
      const dq = empty(q.shape);
      const dk = wantKV ? empty(k.shape) : null;
      const dv = wantKV ? empty(v.shape) : null;
      const views = [qs, ks, vs, os, gc, dq, dk, dv].map((t) => (t ? split(t) : null));
      const [q4s, k4s, v4s, o4s, g4, dq4, dk4, dv4] = views;
      attentionBackward(q4s!, k4s!, v4s!, o4s!, ls, g4!, scale, wantKV, { dq: dq4!, dk: dk4 ?? undefined, dv: dv4 ?? undefined });
      for (const t of views) t?.dispose();
      if (gc !== g) gc.dispose();
      return [q.requiresGrad ? dq : (dq.dispose(), null), k.requiresGrad ? dk : (dk?.dispose(), null), v.requiresGrad ? dv : (dv?.dispose(), null)];
    },
    [q, k, v, out, lse],
  );
  lse.dispose();
  return y;
}
