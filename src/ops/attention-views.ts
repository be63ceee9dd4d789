import type { GpuDevice } from '../../runtime/index.js';
import { Tensor } from '../tensor/tensor.js';
import { shapeStr } from '../tensor/shape.js';
import { contiguous } from './copy.js';

/** Shape checks, strided head views, kernel templating and the params block shared by the attention kernels. */

/** Largest head dimension the fused kernels take (registers per invocation, and compile time, grow with it). */
export const MAX_HEAD_DIM = 128;

/** Base offset and batch/head/row strides (in elements) of a [B, H, L, D] view with unit stride along D. */
export interface HeadView {
  t: Tensor;
  off: number;
  bs: number;
  hs: number;
  rs: number;
}

/** Views q/k/v as strided [B, H, L, D] without copying when D is dense (as after a [B, L, H, D] transpose). */
export function headView(t: Tensor): HeadView {
  const dense = t.strides[3] === 1 || t.shape[3] === 1 ? t : contiguous(t);
  const s = dense.strides;
  return { t: dense, off: dense.offset, bs: dense.shape[0] === 1 ? 0 : s[0], hs: dense.shape[1] === 1 ? 0 : s[1], rs: dense.shape[2] === 1 ? 0 : s[2] };
}

export function releaseView(v: HeadView, original: Tensor): void {
  if (v.t !== original) v.t.dispose();
}

/** Validates q [B,H,Lq,Dk], k [B,H,Lk,Dk], v [B,H,Lk,Dv]; returns the sizes. */
export function attentionShapes(op: string, q: Tensor, k: Tensor, v: Tensor) {
  const all = `q ${shapeStr(q.shape)}, k ${shapeStr(k.shape)}, v ${shapeStr(v.shape)}`;
  if (q.ndim !== 4 || k.ndim !== 4 || v.ndim !== 4) {
    throw new Error(`${op}: q, k and v must be 4-D [batch, heads, length, headDim]; got ${all} (reshape [B, L, H*D] inputs to [B, L, H, D] and transpose(1, 2))`);
  }
  const [B, H, Lq, Dk] = q.shape;
  const [Lk, Dv] = [k.shape[2], v.shape[3]];
  if (k.shape[3] !== Dk) throw new Error(`${op}: head dimension of k (${k.shape[3]}) differs from q's (${Dk}); got ${all}`);
  if (v.shape[2] !== Lk) throw new Error(`${op}: k and v must have the same length (keys and values pair up); got ${all}`);
  for (const [name, t] of [['k', k], ['v', v]] as const) {
    if (t.shape[0] !== B || t.shape[1] !== H) throw new Error(`${op}: batch and heads of ${name} differ from q's; got ${all}`);
  }
  if (Lk === 0) throw new Error(`${op}: k and v have no keys (length 0); got ${all}`);
  if (Dk === 0 || Dv === 0) throw new Error(`${op}: head dimensions must be at least 1; got ${all}`);
  for (const t of [q, k, v]) if (t.dtype === 'int32') throw new Error(`${op}: expected float32 or float16 tensors, got int32; got ${all}`);
  return { B, H, Lq, Lk, Dk, Dv };
}

const sources = new Map<string, Map<string, string>>();
/**
 * Splices sizes into a kernel template: each default `<n>u` preceded by a comment naming a key of `values`
 * (as in `const DK: u32 = [comment DK]64u;`) becomes `<value>u`
 * (head dimensions and rows per lane size function-scope arrays, so they must be constants, not overrides).
 */
export function attentionSource(template: string, values: Readonly<Record<string, number>>): string {
  let byValues = sources.get(template);
  if (!byValues) sources.set(template, (byValues = new Map()));
  const key = JSON.stringify(values);
  let s = byValues.get(key);
  if (!s) {
    s = template.replace(/\/\*(\w+)\*\/\d+u/g, (whole, name: string) => (name in values ? `${values[name]}u` : whole));
    byValues.set(key, s);
  }
  return s;
}

export type AttentionKernel = 'auto' | 'subgroup' | 'portable';
let kernelChoice: AttentionKernel = 'auto';

/** Picks the attention kernels (tests and benchmarks compare them; 'auto' chooses per adapter). */
export function setAttentionKernel(k: AttentionKernel): void {
  kernelChoice = k;
}

/** Whether the 8-lane subgroup kernels apply: subgroups of at least 8 lanes, and narrow ones (CPU SIMD) for 'auto'. */
export function useSubgroupKernels(dev: GpuDevice): boolean {
  if (kernelChoice === 'portable') return false;
  const info = (dev.device as unknown as { adapterInfo?: { subgroupMinSize?: number; subgroupMaxSize?: number } }).adapterInfo;
  const min = info?.subgroupMinSize ?? 0;
  const max = info?.subgroupMaxSize ?? 0;
  // A workgroup of 8 invocations must sit in one subgroup, lanes 0..7, for subgroupBroadcast(x, lane) to work.
  const possible = dev.hasSubgroups && min >= 8;
  if (kernelChoice === 'subgroup') {
    if (!possible) throw new Error(`setAttentionKernel('subgroup'): this adapter has no subgroups of at least 8 lanes (min ${min})`);
    return true;
  }
  // Wide GPU subgroups would leave most of each 32/64-lane wave idle with 8-invocation workgroups.
  return possible && max <= 16;
}

/**
 * Threads per workgroup of the portable kernels (one query or key row each): 64 on GPUs; 8 (one subgroup) on CPU
 * adapters, where lavapipe compiled the 64-wide forward kernel for 20 s and ran it no faster.
 */
export function portableWorkgroupSize(dev: GpuDevice): number {
  return dev.adapter.isFallbackAdapter || dev.adapter.architecture === 'software' ? 8 : 64;
}

/** The head views a kernel reads or writes, in the order of the params block (absent ones are zeros). */
export interface AttentionViews {
  q: HeadView;
  k: HeadView;
  v: HeadView;
  g?: HeadView;
  o: HeadView;
  dq?: HeadView;
  dk?: HeadView;
  dv?: HeadView;
}
const VIEW_ORDER = ['q', 'k', 'v', 'g', 'o', 'dq', 'dk', 'dv'] as const;

/** Params block shared by the attention kernels: sizes, then offset/strides of the eight head views, then scale. */
export function attentionParams(lq: number, lk: number, heads: number, views: AttentionViews, scale: number, dk: number, dv: number): Uint32Array {
  const n = VIEW_ORDER.length;
  const u = new Uint32Array(4 + 4 * n + 4);
  u.set([lq, lk, heads, Math.ceil(dk / 4)]);
  VIEW_ORDER.forEach((name, i) => {
    const v = views[name];
    if (v) u.set([v.off, v.bs, v.hs, v.rs], 4 + 4 * i);
  });
  new Float32Array(u.buffer)[4 + 4 * n] = scale;
  u[4 + 4 * n + 1] = Math.ceil(dv / 4);
  return u;
}

/** A head view of a [B, H, L, D] output view (dense last axis): where a kernel writes its result. */
export function outputView(t: Tensor): HeadView {
  if (t.strides[3] !== 1 && t.shape[3] !== 1) throw new Error(`internal: attention output view ${shapeStr(t.shape)} needs a dense last axis`);
  return { t, off: t.offset, bs: t.strides[0], hs: t.strides[1], rs: t.strides[2] };
}

