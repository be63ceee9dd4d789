enable subgroups;
// Shared by the subgroup attention kernels (src/ops/attention*.ts prepends it, as random kernels prepend
// philox-lib.wgsl): the uniform layout src/ops/attention-views.ts writes, row loads and the 8-lane broadcast.
// Each kernel declares the q, k, v buffers these read (f32, or f16 in the forward kernel: loads widen to f32).

struct Params {
  lq: u32, lk: u32, heads: u32, dk4: u32,
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
  scale: f32, dv4: u32, _pad2: u32, _pad3: u32,
}

// Four consecutive elements of a row of length d; lanes past d read 0 (the address is clamped into the row, and
// with d a multiple of 4 the selects fold away).
fn load_q(base: u32, c4: u32, d: u32) -> vec4<f32> {
  let c = c4 * 4u;
  return vec4(f32(q[base + c]), select(0.0, f32(q[base + min(c + 1u, d - 1u)]), c + 1u < d),
              select(0.0, f32(q[base + min(c + 2u, d - 1u)]), c + 2u < d), select(0.0, f32(q[base + min(c + 3u, d - 1u)]), c + 3u < d));
}
fn load_k(base: u32, c4: u32, d: u32) -> vec4<f32> {
  let c = c4 * 4u;
  return vec4(f32(k[base + c]), select(0.0, f32(k[base + min(c + 1u, d - 1u)]), c + 1u < d),
              select(0.0, f32(k[base + min(c + 2u, d - 1u)]), c + 2u < d), select(0.0, f32(k[base + min(c + 3u, d - 1u)]), c + 3u < d));
}
fn load_v(base: u32, c4: u32, d: u32) -> vec4<f32> {
  let c = c4 * 4u;
  return vec4(f32(v[base + c]), select(0.0, f32(v[base + min(c + 1u, d - 1u)]), c + 1u < d),
              select(0.0, f32(v[base + min(c + 2u, d - 1u)]), c + 2u < d), select(0.0, f32(v[base + min(c + 3u, d - 1u)]), c + 3u < d));
}
fn bcast8(x: vec4<f32>) -> array<vec4<f32>, 8> {
  return array(subgroupBroadcast(x, 0u), subgroupBroadcast(x, 1u), subgroupBroadcast(x, 2u), subgroupBroadcast(x, 3u),
               subgroupBroadcast(x, 4u), subgroupBroadcast(x, 5u), subgroupBroadcast(x, 6u), subgroupBroadcast(x, 7u));
}
