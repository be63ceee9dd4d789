// Shared by the portable attention kernels (src/ops/attention*.ts prepends it): the uniform layout that
// src/ops/attention-views.ts writes (offsets and batch/head/row strides of q, k, v, the upstream gradient and
// the outputs).

struct Params {
  lq: u32, lk: u32, heads: u32, _pad0: u32,
  q_off: u32, q_bs: u32, q_hs: u32, q_rs: u32,
  k_off: u32, k_bs: u32, k_hs: u32, k_rs: u32,
  v_off: u32, v_bs: u32, v_hs: u32, v_rs: u32,
  g_off: u32, g_bs: u32, g_hs: u32, g_rs: u32,
  // Where results go: the output O (forward; read again by the backward), dQ, dK and dV, each a strided
  // [B, H, L, D] view with a dense last axis, so merged-head layouts [B, L, H·D] are written in place.
  o_off: u32, o_bs: u32, o_hs: u32, o_rs: u32,
  dq_off: u32, dq_bs: u32, dq_hs: u32, dq_rs: u32,
  dk_off: u32, dk_bs: u32, dk_hs: u32, dk_rs: u32,
  dv_off: u32, dv_bs: u32, dv_hs: u32, dv_rs: u32,
  scale: f32, _pad1: u32, _pad2: u32, _pad3: u32,
}
