// The textbook baseline for the matmul benchmark: one invocation per output, dense row-major A (M x K) and
// B (K x N), no tiling. Not used by the engine.

struct Params { M: u32, N: u32, K: u32, _pad: u32 }

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

override WG: u32 = 8;

@compute @workgroup_size(WG, WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.y;
  let col = gid.x;
  if (row >= p.M || col >= p.N) { return; }
  var sum = 0.0;
  for (var k = 0u; k < p.K; k++) { sum = fma(a[row * p.K + k], b[k * p.N + col], sum); }
  c[row * p.N + col] = sum;
}
