// Elementwise map over NIN strided inputs into a (possibly strided) output: one element per invocation.
// This is a template: src/ops/map-kernel.ts fills the lines marked //@ from the op table, so every unary,
// binary and ternary op (and their backward rules) is one instance of this kernel.
// Inputs are read through strides, so views, transposes and broadcasting (stride 0) cost no copies.

struct Params {
  numel: u32,
  rank: u32,
  out_offset: u32,
  _pad: u32,
  shape: array<vec4<u32>, 2>,
  out_strides: array<vec4<u32>, 2>,
  offsets: array<vec4<u32>, 1>,
  strides: array<vec4<u32>, 8>, // 2 vec4 (8 dims) per input, up to 4 inputs
  scalars: vec4<f32>,
}

//@BINDINGS
@group(0) @binding(NIN_PLUS_1) var<uniform> p: Params;

// True when every input and the output are dense and unbroadcast: the index math is then skipped.
override CONTIG: bool = false;
override WG: u32 = 256;

fn dim_of(a: array<vec4<u32>, 2>, d: u32) -> u32 { return a[d / 4u][d % 4u]; }
fn in_stride(k: u32, d: u32) -> u32 { return p.strides[k * 2u + d / 4u][d % 4u]; }

const SQRT_HALF: f32 = 0.7071067811865476;
const INV_SQRT_2PI: f32 = 0.3989422804014327;
const SQRT_2_OVER_PI: f32 = 0.7978845608028654;

// erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7); WGSL has no erf.
fn erf_(x: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.3275911 * abs(x));
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-x * x);
  return select(-y, y, x >= 0.0);
}
// tanh from exp(-2|x|): the builtin overflows to NaN for large |x| on some drivers.
fn tanh_(x: f32) -> f32 {
  let e = exp(-2.0 * abs(x));
  return sign(x) * (1.0 - e) / (1.0 + e);
}
fn sigmoid_(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
// NaN by its bits: compilers may fold `x != x` to false (lavapipe does).
fn is_nan_(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
// pow that is defined for negative bases with integral exponents, as in NumPy; 0^e is 1, 0 or +inf as e is 0,
// positive or negative (WGSL's pow leaves x == 0 undefined).
fn pow_(x: f32, e: f32) -> f32 {
  var inf_bits = 0x7f800000u;
  if (x == 0.0) { return select(select(0.0, bitcast<f32>(inf_bits), e < 0.0), 1.0, e == 0.0); }
  if (x > 0.0) { return pow(x, e); }
  let r = pow(-x, e);
  // A var, not a constant: WGSL rejects NaN in constant expressions.
  var nan_bits = 0x7fc00000u;
  if (fract(e) != 0.0) { return bitcast<f32>(nan_bits); }
  return select(r, -r, fract(e * 0.5) != 0.0);
}
fn gelu_tanh_(x: f32) -> f32 { return 0.5 * x * (1.0 + tanh_(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))); }
fn gelu_tanh_grad_(x: f32) -> f32 {
  let u = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
  let t = tanh_(u);
  return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044715 * x * x);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.numel) { return; }
  let s0 = p.scalars.x;
  let s1 = p.scalars.y;
  var idx = array<u32, 4>(p.offsets[0].x, p.offsets[0].y, p.offsets[0].z, p.offsets[0].w);
  var o = p.out_offset;
  if (CONTIG) {
    for (var k = 0u; k < 4u; k++) { idx[k] += i; }
    o += i;
  } else {
    var rem = i;
    for (var d = p.rank; d > 0u; d--) {
      let dd = d - 1u;
      let n = dim_of(p.shape, dd);
      let c = rem % n;
      rem = rem / n;
      for (var k = 0u; k < NIN; k++) { idx[k] += c * in_stride(k, dd); }
      o += c * dim_of(p.out_strides, dd);
    }
  }
  //@LOADS
  out[o] = //@EXPR
  ;
}
