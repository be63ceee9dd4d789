// Repacking for the implicit-GEMM convolution kernels (src/ops/conv2d-kernels.ts documents the layouts).
//
// input: NCHW activations → per group, channels-last with the zero padding written out:
//   xh[nl][g][y][x][c]   (c < C4, C4 = input channels per group rounded up to 4; extra channels are 0)
// Source pixel of packed (y, x) is ((y + y0) / sy, (x + x0) / sx) when both divide exactly and fall inside the
// source, else 0. The forward uses sy = sx = 1 and y0 = x0 = -padding; the input gradient uses the stride as
// sy, sx (zero insertion) and the "full" padding, so both become a plain stride-1 convolution of xh.
//
// weight: [Cout][Cin/G][KH][KW] → wp[g][k4][co][4]: for each group, vec4 step k4 = tap * C4/4 + c4 and
// output channel co, the weights of the 4 input channels 4c4..4c4+3 at tap = ky * KW + kx (0 past the real
// channels). `flip` = 1 packs the transposed, 180°-rotated kernel the input gradient convolves with.
//
// grad: dY [N][Cout][Ho][Wo] → gt[g][nl][pixel][co] (channels last, co padded to CoP with zeros), for the
// chunk's samples and pixels.
//
// One launch runs up to four such jobs (a convolution's forward packs its input and its weights; its backward
// packs the flipped weights, dY twice and the input): invocation i belongs to the job whose range of packed vec4s
// holds it, reads that job's source (one of three bindings) and writes its region of the one destination buffer.
// A launch per pack would cost more than the packing on CPU adapters, where every launch has a fixed cost.
//
// The packed copies keep the sources' element type ST (f32, or f16 through src/ops/wgsl-types.ts): an f16 operand
// stays half the bytes all the way into the convolution kernels.

// A job: h = (kind, source binding, destination offset in vec4s, vec4s to write); a..d its kind's parameters:
//   input:  a = (C, H, W, Cg)  b = (C4, G, Hp, Wp)  c = (n0, src_off, y0, x0 as i32)  d = (sy, sx, -, -)
//   weight: a = (CoutG, CinG, C4, KH)  b = (KW, CoP, flip, src_cin)  c = (src_cout_g, w_off, -, -)
//   grad:   a = (Cout, CoutG, CoP, G)  b = (P, n0, Nc, src_off)  c = (plane, pix0, -, -)
struct Job { h: vec4<u32>, a: vec4<u32>, b: vec4<u32>, c: vec4<u32>, d: vec4<u32> }
struct Params { njobs: u32, _p0: u32, _p1: u32, _p2: u32, jobs: array<Job, 4> }

const INPUT: u32 = 0u;
const WEIGHT: u32 = 1u;
const GRAD: u32 = 2u;

alias ST = f32;

@group(0) @binding(0) var<storage, read> src0: array<ST>;
@group(0) @binding(1) var<storage, read> src1: array<ST>;
@group(0) @binding(2) var<storage, read> src2: array<ST>;
@group(0) @binding(3) var<storage, read_write> dst: array<vec4<ST>>;
@group(0) @binding(4) var<uniform> p: Params;

override WG: u32 = 64;

fn src_val(s: u32, i: u32) -> f32 {
  if (s == 0u) { return f32(src0[i]); }
  if (s == 1u) { return f32(src1[i]); }
  return f32(src2[i]);
}

// Source value for packed coordinate (t = y + y0 or x + x0, stride s, size n); -1 when it is padding.
fn src_coord(t: i32, s: u32, n: u32) -> i32 {
  if (t < 0) { return -1; }
  let u = u32(t);
  if (u % s != 0u) { return -1; }
  let q = u / s;
  return select(-1, i32(q), q < n);
}

fn pack_input(j: Job, i: u32) -> vec4<f32> {
  let C = j.a.x; let H = j.a.y; let W = j.a.z; let Cg = j.a.w;
  let C4 = j.b.x; let G = j.b.y; let Hp = j.b.z; let Wp = j.b.w;
  let c4n = C4 / 4u;
  let c4 = i % c4n;
  var r = i / c4n;
  let x = r % Wp;
  r = r / Wp;
  let y = r % Hp;
  r = r / Hp;
  let g = r % G;
  let nl = r / G;
  let sy = src_coord(i32(y) + bitcast<i32>(j.c.z), j.d.x, H);
  let sx = src_coord(i32(x) + bitcast<i32>(j.c.w), j.d.y, W);
  var v = vec4<f32>(0.0);
  if (sy >= 0 && sx >= 0) {
    let plane = H * W;
    let base = j.c.y + ((j.c.x + nl) * C + g * Cg) * plane + u32(sy) * W + u32(sx);
    for (var e = 0u; e < 4u; e++) {
      let c = c4 * 4u + e;
      if (c < Cg) { v[e] = src_val(j.h.y, base + c * plane); }
    }
  }
  return v;
}

fn pack_weight(j: Job, i: u32) -> vec4<f32> {
  let CoutG = j.a.x; let CinG = j.a.y; let C4 = j.a.z; let KH = j.a.w;
  let KW = j.b.x; let CoP = j.b.y; let flip = j.b.z; let src_cin = j.b.w;
  let src_cout_g = j.c.x; let w_off = j.c.y;
  let co = i % CoP;
  var r = i / CoP;
  let c4n = C4 / 4u;
  let k4n = KH * KW * c4n;
  let k4 = r % k4n;
  let g = r / k4n;
  let tap = k4 / c4n;
  let c4 = k4 % c4n;
  var ky = tap / KW;
  var kx = tap % KW;
  var v = vec4<f32>(0.0);
  if (co < CoutG) {
    if (flip != 0u) {
      ky = KH - 1u - ky;
      kx = KW - 1u - kx;
    }
    for (var e = 0u; e < 4u; e++) {
      let ci = min(c4 * 4u + e, CinG - 1u);
      // Source weight [g * src_cout_g + o][c][ky][kx]; the transposed kernel swaps the two channel roles.
      let o = select(co, ci, flip != 0u);
      let c = select(ci, co, flip != 0u);
      let w = src_val(j.h.y, w_off + (((g * src_cout_g + o) * src_cin + c) * KH + ky) * KW + kx);
      v[e] = select(0.0, w, c4 * 4u + e < CinG);
    }
  }
  return v;
}

fn pack_grad(j: Job, i: u32) -> vec4<f32> {
  let Cout = j.a.x; let CoutG = j.a.y; let CoP = j.a.z;
  let P = j.b.x; let n0 = j.b.y; let Nc = j.b.z; let src_off = j.b.w;
  let plane = j.c.x; let pix0 = j.c.y;
  let q4 = CoP / 4u;
  let c4 = i % q4;
  var r = i / q4;
  let px = r % P;
  r = r / P;
  let nl = r % Nc;
  let g = r / Nc;
  var v = vec4<f32>(0.0);
  for (var e = 0u; e < 4u; e++) {
    let co = c4 * 4u + e;
    if (co < CoutG) { v[e] = src_val(j.h.y, src_off + ((n0 + nl) * Cout + g * CoutG + co) * plane + pix0 + px); }
  }
  return v;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  // Grids past the per-dimension limit fold into y (src/ops/dispatch.ts).
  var i = gid.x + gid.y * nwg.x * WG;
  for (var k = 0u; k < p.njobs; k++) {
    let j = p.jobs[k];
    if (i < j.h.w) {
      var v: vec4<f32>;
      if (j.h.x == INPUT) { v = pack_input(j, i); } else if (j.h.x == WEIGHT) { v = pack_weight(j, i); } else { v = pack_grad(j, i); }
      dst[j.h.z + i] = vec4<ST>(v);
      return;
    }
    i -= j.h.w;
  }
}
