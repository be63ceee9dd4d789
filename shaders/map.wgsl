// Elementwise map over NIN strided inputs into a (possibly strided) output.
// This is a template: src/ops/map-kernel.ts fills the marked line below from the op table (the bindings, `apply`
// with the op's expression, and the load/store helpers), so every unary, binary and ternary op (and their backward
// rules) is one instance of this kernel. Inputs are read through strides, so views, transposes and broadcasting
// (stride 0) cost no copies. Three index modes (MODE) share it:
//   CONTIG: every operand dense with the output's shape: element i of each is its offset + i.
//   BAND:   the output is dense and each input's element is offset + (i / div) % mod (div 0: always offset; mod 0:
//           no wrap): dense inputs, bias [1,C,1,1] and per-sample [N,C,1,1] over NCHW, row/column broadcasts and
//           scalars cost one division and one remainder per input instead of the walk.
//   WALK:   the general case, a mixed-radix walk over RANK coalesced dimensions.
// With WIDTH 4 an invocation computes 4 consecutive output elements along the innermost dimension: the index math
// runs once for the 4, and operands that are dense and 16-byte aligned along that run are bound as arrays of vec4
// (one vector load or store instead of four; on lavapipe every load of a lane is a separate scalar access).

struct Params {
  numel: u32,
  rank: u32, // the walk's; the kernel uses the RANK override, so its loop unrolls
  out_offset: u32,
  _pad: u32,
  shape: array<vec4<u32>, 2>,
  out_strides: array<vec4<u32>, 2>,
  offsets: vec4<u32>,
  // WALK: 2 vec4 (8 dims) per input, up to 4 inputs. BAND: (div, mod) of input k in strides[2k].xy.
  strides: array<vec4<u32>, 8>,
  scalars: vec4<f32>,
}

//@BINDINGS
@group(0) @binding(NIN_PLUS_1) var<uniform> p: Params;

const WALK: u32 = 0u;
const CONTIG: u32 = 1u;
const BAND: u32 = 2u;
override MODE: u32 = WALK;
// Output elements per invocation: 1, or 4 (only where the innermost run is a multiple of 4).
override WIDTH: u32 = 1u;
// Coalesced dimensions of the WALK: a constant trip count, so the walk unrolls.
override RANK: u32 = 1u;
override WG: u32 = 256;

fn in_stride(k: u32, d: u32) -> u32 { return p.strides[k * 2u + d / 4u][d % 4u]; }

fn band_index(k: u32, i: u32) -> u32 {
  let div = p.strides[2u * k].x;
  let m = p.strides[2u * k].y;
  var q = i;
  if (div == 0u) { q = 0u; } else if (div != 1u) { q = q / div; }
  if (m != 0u) { q = q % m; }
  return q;
}

// Element index of every input (0..3) and of the output (4) for output element i.
fn locate(i: u32) -> array<u32, 5> {
  var idx = array<u32, 5>(p.offsets.x, p.offsets.y, p.offsets.z, p.offsets.w, p.out_offset);
  if (MODE == CONTIG) {
    for (var k = 0u; k < 5u; k++) { idx[k] += i; }
  } else if (MODE == BAND) {
    for (var k = 0u; k < NIN; k++) { idx[k] += band_index(k, i); }
    idx[4] += i;
  } else {
    var rem = i;
    for (var d = RANK; d > 0u; d--) {
      let dd = d - 1u;
      // The outermost coordinate is what remains: no division.
      var c = rem;
      if (dd > 0u) {
        let n = p.shape[dd / 4u][dd % 4u];
        c = rem % n;
        rem = rem / n;
      }
      for (var k = 0u; k < NIN; k++) { idx[k] += c * in_stride(k, dd); }
      idx[4] += c * p.out_strides[dd / 4u][dd % 4u];
    }
  }
  return idx;
}

// Element steps from output element i to i + 1 within a WIDTH 4 run (0: a broadcast input, read once).
fn run_steps() -> array<u32, 5> {
  var s = array<u32, 5>(1u, 1u, 1u, 1u, 1u);
  if (MODE == BAND) {
    for (var k = 0u; k < NIN; k++) { s[k] = select(0u, 1u, p.strides[2u * k].x == 1u); }
  } else if (MODE == WALK) {
    let d = max(RANK, 1u) - 1u;
    for (var k = 0u; k < NIN; k++) { s[k] = in_stride(k, d); }
    s[4] = p.out_strides[d / 4u][d % 4u];
  }
  return s;
}

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
  let i = (gid.x + gid.y * nwg.x * WG) * WIDTH;
  if (i >= p.numel) { return; }
  let idx = locate(i);
  if (WIDTH == 1u) {
    store1(idx[4], apply(load1(idx), i));
  } else {
    let s = run_steps();
    // Row c: every input's value at output element i + c.
    let x = transpose(load4(idx, s));
    store4(idx[4], s[4], vec4<f32>(apply(x[0], i), apply(x[1], i + 1u), apply(x[2], i + 2u), apply(x[3], i + 3u)));
  }
}
