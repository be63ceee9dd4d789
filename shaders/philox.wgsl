// Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3"): a counter-based generator, so
// element i of a (seed, stream) draw is the same on every device and in the CPU reference (src/random/philox.ts).
// Each invocation produces one block of 4 outputs: uniforms in [0, 1) or, by Box-Muller, normals.
// The generator itself (philox, to_unit, box_muller) is shaders/philox-lib.wgsl, prepended by src/ops/random.ts.

struct Params { n: u32, key0: u32, key1: u32, stream: u32, scale: f32, shift: f32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<uniform> p: Params;

override WG: u32 = 64;
// 0 = uniform [0, 1), 1 = standard normal
override DIST: u32 = 0;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let block = gid.x + gid.y * nwg.x * WG;
  let first = block * 4u;
  if (first >= p.n) { return; }
  let r = philox(vec4<u32>(block, p.stream, 0u, 0u), vec2<u32>(p.key0, p.key1));
  var v: vec4<f32>;
  if (DIST == 0u) {
    v = vec4<f32>(to_unit(r.x), to_unit(r.y), to_unit(r.z), to_unit(r.w));
  } else {
    v = box_muller(r);
  }
  for (var j = 0u; j < 4u; j++) {
    if (first + j < p.n) { out[first + j] = p.shift + p.scale * v[j]; }
  }
}
