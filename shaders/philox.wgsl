// Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3"): a counter-based generator, so
// element i of a (seed, stream) draw is the same on every device and in the CPU reference (src/random/philox.ts).
// Each invocation produces one block of 4 outputs: uniforms in [0, 1) or, by Box-Muller, normals.

struct Params { n: u32, key0: u32, key1: u32, stream: u32, scale: f32, shift: f32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<uniform> p: Params;

override WG: u32 = 64;
// 0 = uniform [0, 1), 1 = standard normal
override DIST: u32 = 0;

// 32x32 -> 64-bit product as (hi, lo) from 16-bit halves: WGSL has no 64-bit integers.
fn mulhilo(a: u32, b: u32) -> vec2<u32> {
  let a_lo = a & 0xffffu; let a_hi = a >> 16u;
  let b_lo = b & 0xffffu; let b_hi = b >> 16u;
  let ll = a_lo * b_lo;
  let lh = a_lo * b_hi;
  let hl = a_hi * b_lo;
  let hh = a_hi * b_hi;
  let mid = (ll >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
  let hi = hh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
  return vec2<u32>(hi, a * b);
}

fn philox(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
  var c = counter;
  var k = key;
  for (var r = 0u; r < 10u; r++) {
    let p0 = mulhilo(0xD2511F53u, c.x);
    let p1 = mulhilo(0xCD9E8D57u, c.z);
    c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
    k = k + vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
  }
  return c;
}

// 24 high bits -> [0, 1): exactly representable, identical on every device.
fn to_unit(x: u32) -> f32 { return f32(x >> 8u) * 5.9604644775390625e-8; }
// (0, 1]: safe for log().
fn to_unit_open(x: u32) -> f32 { return f32((x >> 8u) + 1u) * 5.9604644775390625e-8; }

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
    let TWO_PI = 6.283185307179586;
    let r0 = sqrt(-2.0 * log(to_unit_open(r.x)));
    let r1 = sqrt(-2.0 * log(to_unit_open(r.z)));
    let t0 = TWO_PI * to_unit(r.y);
    let t1 = TWO_PI * to_unit(r.w);
    v = vec4<f32>(r0 * cos(t0), r0 * sin(t0), r1 * cos(t1), r1 * sin(t1));
  }
  for (var j = 0u; j < 4u; j++) {
    if (first + j < p.n) { out[first + j] = p.shift + p.scale * v[j]; }
  }
}
