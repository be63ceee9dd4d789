// Shared by the two subgroup attention backward kernels (prepended after attention-subgroup-lib.wgsl): the
// upstream-gradient row load and the broadcast/dot/weighted-sum helpers of the blockwise recomputation.

fn load_go(base: u32, c4: u32, d: u32) -> vec4<f32> {
  let c = c4 * 4u;
  return vec4(go[base + c], select(0.0, go[base + min(c + 1u, d - 1u)], c + 1u < d),
              select(0.0, go[base + min(c + 2u, d - 1u)], c + 2u < d), select(0.0, go[base + min(c + 3u, d - 1u)], c + 3u < d));
}
fn bcast8s(x: f32) -> array<vec4<f32>, 2> {
  return array(vec4(subgroupBroadcast(x, 0u), subgroupBroadcast(x, 1u), subgroupBroadcast(x, 2u), subgroupBroadcast(x, 3u)),
               vec4(subgroupBroadcast(x, 4u), subgroupBroadcast(x, 5u), subgroupBroadcast(x, 6u), subgroupBroadcast(x, 7u)));
}
// x · each of the 8 broadcast rows, as two vec4 (rows 0..3, 4..7).
fn dots8(x: vec4<f32>, b: array<vec4<f32>, 8>) -> array<vec4<f32>, 2> {
  return array(vec4(dot(x, b[0]), dot(x, b[1]), dot(x, b[2]), dot(x, b[3])), vec4(dot(x, b[4]), dot(x, b[5]), dot(x, b[6]), dot(x, b[7])));
}
// Σ_i w_i · b_i over the 8 broadcast rows.
fn wsum8(w0: vec4<f32>, w1: vec4<f32>, b: array<vec4<f32>, 8>) -> vec4<f32> {
  return w0.x * b[0] + w0.y * b[1] + w0.z * b[2] + w0.w * b[3] + w1.x * b[4] + w1.y * b[5] + w1.z * b[6] + w1.w * b[7];
}
