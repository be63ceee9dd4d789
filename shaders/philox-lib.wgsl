// Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3"), shared by every kernel that
// draws random numbers: the TypeScript loader prepends this file to the kernel's source (src/ops/random.ts,
// src/raw/noise.ts). A (key, counter) pair gives the same four words on every device and in the CPU reference
// (src/random/philox.ts).

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

// log, sin and cos from +, *, / and frexp only: WGSL lets builtin sin/cos be off by 2^-11 absolute (SwiftShader
// is), which would make the same seed give normals differing in the 4th digit across adapters.
// Division and sqrt refined by one Newton step: some drivers compile them to fast approximations (~1e-4).
fn recip_refined(b: f32) -> f32 {
  let r0 = 1.0 / b;
  return r0 * (2.0 - b * r0);
}
fn sqrt_refined(x: f32) -> f32 {
  if (x <= 0.0) { return 0.0; }
  let y = sqrt(x);
  return 0.5 * (y + x * recip_refined(y));
}
fn log_portable(x: f32) -> f32 {
  var f = frexp(x);
  var m = f.fract; // [0.5, 1)
  var e = f32(f.exp);
  if (m < 0.70710678) { m = m * 2.0; e = e - 1.0; }
  let s = (m - 1.0) * recip_refined(m + 1.0); // |s| <= 0.1716
  let s2 = s * s;
  let series = 1.0 + s2 * (1.0 / 3.0 + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0 + s2 * (1.0 / 11.0)))));
  return 2.0 * s * series + e * 0.6931471805599453;
}
// sin and cos of 2*pi*u for u in [0, 1): quadrant from u, then Taylor series on [0, pi/2).
fn sincos_turns(u: f32) -> vec2<f32> {
  let t = u * 4.0;
  let q = u32(floor(t));
  let a = (t - floor(t)) * 1.5707963267948966;
  let a2 = a * a;
  let s = a * (1.0 - a2 / 6.0 * (1.0 - a2 / 20.0 * (1.0 - a2 / 42.0 * (1.0 - a2 / 72.0 * (1.0 - a2 / 110.0 * (1.0 - a2 / 156.0))))));
  let c = 1.0 - a2 / 2.0 * (1.0 - a2 / 12.0 * (1.0 - a2 / 30.0 * (1.0 - a2 / 56.0 * (1.0 - a2 / 90.0 * (1.0 - a2 / 132.0)))));
  switch (q & 3u) {
    case 0u: { return vec2<f32>(s, c); }
    case 1u: { return vec2<f32>(c, -s); }
    case 2u: { return vec2<f32>(-s, -c); }
    default: { return vec2<f32>(-c, s); }
  }
}

// Four standard normals from one block by Box-Muller on the word pairs (x, y) and (z, w).
fn box_muller(r: vec4<u32>) -> vec4<f32> {
  let r0 = sqrt_refined(-2.0 * log_portable(to_unit_open(r.x)));
  let r1 = sqrt_refined(-2.0 * log_portable(to_unit_open(r.z)));
  let sc0 = sincos_turns(to_unit(r.y));
  let sc1 = sincos_turns(to_unit(r.w));
  return vec4<f32>(r0 * sc0.y, r0 * sc0.x, r1 * sc1.y, r1 * sc1.x);
}
