import portableDqKernel from '../../shaders/attention-backward-dq.wgsl';
import portableDkvKernel from '../../shaders/attention-backward-dkv.wgsl';
import portableLib from '../../shaders/attention-portable-lib.wgsl';
import subgroupDqKernel from '../../shaders/attention-backward-dq-subgroup.wgsl';
import subgroupDkvKernel from '../../shaders/attention-backward-dkv-subgroup.wgsl';
import subgroupLib from '../../shaders/attention-subgroup-lib.wgsl';
import subgroupBackwardLib from '../../shaders/attention-backward-subgroup-lib.wgsl';
import { Tensor, empty } from '../tensor/tensor.js';
import { copyInto } from './copy.js';
import { attentionParams, attentionSource, headView, outputView, releaseView, useSubgroupKernels, portableWorkgroupSize } from './attention-views.js';

/** Zeros into a (possibly strided) view: the gradient of keys no query attends to. */
function zeroFill(t: Tensor): void {
  const z = empty(t.shape);
  z.device.upload(z.buffer, new Float32Array(z.size), 0, { fresh: true });
  copyInto(t, z);
  z.dispose();
}

/** Subgroup backward kernels with their shared helpers prepended (the lib files hold the common functions). */
const subgroupDq = `${subgroupLib}\n${subgroupBackwardLib}\n${subgroupDqKernel}`;
const subgroupDkv = `${subgroupLib}\n${subgroupBackwardLib}\n${subgroupDkvKernel}`;
const portableDq = `${portableLib}\n${portableDqKernel}`;
const portableDkv = `${portableLib}\n${portableDkvKernel}`;

/** Portable kernels: keys (or queries) per block. */
const BLOCK = 8;
/** Subgroup kernels: rows per lane (see the note in attention-backward-dq-subgroup.wgsl). */
const ROWS_PER_LANE = 1;

/**
 * Gradients of fused attention from the saved inputs, output O and logsumexp (FlashAttention-2 style, no Lq x Lk
 * matrix): a query-side kernel gives dQ and D = rowsum(dO * O), then a key-side kernel gives dK and dV (skipped
 * when `wantKV` is false: q alone needs a gradient).
 */
export function attentionBackward(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  o: Tensor,
  lse: Tensor,
  g: Tensor,
  scale: number,
  wantKV = true,
  /** [B, H, L, D] views to write dQ, dK, dV into (e.g. of merged-head tensors) instead of new tensors. */
  into: { dq?: Tensor; dk?: Tensor; dv?: Tensor } = {},
): { dq: Tensor; dk: Tensor | null; dv: Tensor | null } {
  const [B, H, Lq, Dk] = q.shape;
  const [Lk, Dv] = [k.shape[2], v.shape[3]];
  const dq = into.dq ?? empty(q.shape);
  const dk = wantKV ? (into.dk ?? empty(k.shape)) : null;
  const dv = wantKV ? (into.dv ?? empty(v.shape)) : null;
  if (B * H === 0 || Lq === 0) {
    for (const t of [dk, dv]) if (t) zeroFill(t);
    return { dq, dk, dv };
  }
  const dd = empty([B, H, Lq]);
  const [qv, kv, vv, gv] = [headView(q), headView(k), headView(v), headView(g)];
  const uniform = attentionParams(
    Lq,
    Lk,
    H,
    { q: qv, k: kv, v: vv, g: gv, o: outputView(o), dq: outputView(dq), dk: dk ? outputView(dk) : undefined, dv: dv ? outputView(dv) : undefined },
    scale,
    Dk,
    Dv,
  );
  const dev = dq.device;
  const flops = 2 * B * H * Lq * Lk;
  const sg = useSubgroupKernels(dev);
  const WG = portableWorkgroupSize(dev);
  const rows = sg ? 8 * ROWS_PER_LANE : WG;
  const pipe = (name: string, portable: string, subgroup: string) =>
    sg
      ? dev.pipeline(`${name}_subgroup`, attentionSource(subgroup, { DK: Dk, DV: Dv, R: ROWS_PER_LANE }))
      : dev.pipeline(name, attentionSource(portable, { DK: Dk, DV: Dv, BC: BLOCK }), { WG });
  dev.dispatch({
    name: 'attention_backward_dq',
    pipeline: pipe('attention_backward_dq', portableDq, subgroupDq),
    buffers: [qv.t.binding, kv.t.binding, vv.t.binding, o.binding, lse.binding, gv.t.binding, dq.binding, dd.binding],
    uniform,
    workgroups: [Math.ceil(Lq / rows), H, B],
    flops: flops * (2 * Dk + Dv),
    bytes: 4 * B * H * (Lq * (2 * Dk + 2 * Dv + 2) + Lk * (Dk + Dv)),
  });
  if (dk && dv) {
    dev.dispatch({
      name: 'attention_backward_dkv',
      pipeline: pipe('attention_backward_dkv', portableDkv, subgroupDkv),
      buffers: [qv.t.binding, kv.t.binding, vv.t.binding, lse.binding, gv.t.binding, dd.binding, dk.binding, dv.binding],
      uniform,
      workgroups: [Math.ceil(Lk / rows), H, B],
      flops: flops * (2 * Dk + 2 * Dv),
      bytes: 4 * B * H * (Lq * (Dk + Dv + 2) + Lk * 2 * (Dk + Dv)),
    });
  }
  releaseView(qv, q);
  releaseView(kv, k);
  releaseView(vv, v);
  releaseView(gv, g);
  dd.dispose();
  return { dq, dk, dv };
}
