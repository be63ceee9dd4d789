// One-dimensional filtering of a dense [planes, H, W] float32 tensor along W (AXIS 0) or H (AXIS 1) with K taps,
// zero outside the image: out(p, y, x) = sum_k taps[k] * in(p, y, x + k - r) (or y + k - r), r = (K - 1) / 2.
// Two passes make a separable 2-D blur. The map's adjoint is the same filter with the taps reversed, which is how
// the backward rule is built (src/ops/blur1d.ts).

struct Params { h: u32, w: u32, k: u32, total: u32, src_off: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read> taps: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

override WG: u32 = 256;
override AXIS: u32 = 0u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= p.total) { return; }
  let x = t % p.w;
  let y = (t / p.w) % p.h;
  let r = i32(p.k / 2u);
  // Along the axis: the position, the length and the stride between neighbours.
  let pos = select(i32(y), i32(x), AXIS == 0u);
  let len = select(i32(p.h), i32(p.w), AXIS == 0u);
  let stride = select(p.w, 1u, AXIS == 0u);
  // Only the taps that land inside the image: zero padding without a branch per tap.
  let k0 = u32(max(0, r - pos));
  let k1 = u32(min(i32(p.k), len - pos + r));
  let base = p.src_off + t - u32(pos) * stride;
  var acc = 0.0;
  for (var k = k0; k < k1; k++) {
    acc += taps[k] * src[base + u32(pos + i32(k) - r) * stride];
  }
  dst[t] = acc;
}
