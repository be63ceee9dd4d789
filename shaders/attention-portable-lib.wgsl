// Shared by the portable attention kernels (src/ops/attention*.ts prepends it): the uniform layout that
// src/ops/attention-views.ts writes (offsets and batch/head/row strides of q, k, v and the upstream gradient).

struct Params {
  lq: u32, lk: u32, heads: u32, _pad0: u32,
  q_off: u32, q_bs: u32, q_hs: u32, q_rs: u32,
  k_off: u32, k_bs: u32, k_hs: u32, k_rs: u32,
  v_off: u32, v_bs: u32, v_hs: u32, v_rs: u32,
  g_off: u32, g_bs: u32, g_hs: u32, g_rs: u32,
  scale: f32, _pad1: u32, _pad2: u32, _pad3: u32,
}
