// index_select along one axis of a dense tensor viewed as [outer, D, inner]:
//   gather:       out[o, k, i] = x[o, idx[k], i]                  (forward)
//   scatter_add:  dx[o, j, i]  = sum over k with idx[k] == j of g[o, k, i]   (backward)
// The backward loops over the index list instead of using float atomics, which WGSL does not have.

struct Params { outer: u32, d: u32, k: u32, inner: u32, x_off: u32, total: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read> idx: array<i32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

override WG: u32 = 256;

@compute @workgroup_size(WG)
fn gather(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= p.total) { return; }
  let i = t % p.inner;
  let k = (t / p.inner) % p.k;
  let o = t / (p.inner * p.k);
  let j = u32(idx[k]);
  dst[t] = src[p.x_off + (o * p.d + j) * p.inner + i];
}

@compute @workgroup_size(WG)
fn scatter_add(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= p.total) { return; }
  let i = t % p.inner;
  let j = (t / p.inner) % p.d;
  let o = t / (p.inner * p.d);
  var acc = 0.0;
  for (var k = 0u; k < p.k; k++) {
    if (u32(idx[k]) == j) { acc += src[p.x_off + (o * p.k + k) * p.inner + i]; }
  }
  dst[t] = acc;
}
