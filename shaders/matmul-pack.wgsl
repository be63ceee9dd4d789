// Packs a strided [batch, R, K] view into dense rows of vec4 along K, zero-padded to K4 = ceil(K / 4) vec4s.
// The fast matmul kernels read both operands this way (A as M x K, B transposed as N x K), so one kernel
// serves both: B's transpose is just B's view with its two strides swapped. The copy is O((M + N)·K) against
// the product's O(M·N·K), and is skipped when a view is already laid out like this. The packed copy keeps the
// source's element type ST (f32, or f16 through src/ops/wgsl-types.ts), so an f16 operand stays half the bytes.

struct Params {
  R: u32, K: u32, K4: u32, total: u32,
  off: u32, bs: u32, rs: u32, cs: u32,
  // 1 when rows are the fastest-varying index: for a transposing copy (cs != 1) neighbouring invocations then
  // read neighbouring source elements (rs = 1) instead of elements a whole row apart.
  rows_fastest: u32, _pad0: u32, _pad1: u32, _pad2: u32,
}

alias ST = f32;

@group(0) @binding(0) var<storage, read> src: array<ST>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<ST>>;
@group(0) @binding(2) var<uniform> p: Params;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  // Grids past the per-dimension limit fold into y (src/ops/dispatch.ts).
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= p.total) { return; }
  var q: u32;
  var r: u32;
  var b: u32;
  if (p.rows_fastest != 0u) {
    r = idx % p.R;
    q = (idx / p.R) % p.K4;
    b = idx / (p.R * p.K4);
  } else {
    q = idx % p.K4;
    r = (idx / p.K4) % p.R;
    b = idx / (p.R * p.K4);
  }
  let base = p.off + b * p.bs + r * p.rs;
  var v = vec4<f32>(0.0);
  for (var j = 0u; j < 4u; j++) {
    let k = q * 4u + j;
    if (k < p.K) { v[j] = f32(src[base + k * p.cs]); }
  }
  dst[(b * p.R + r) * p.K4 + q] = vec4<ST>(v);
}
