// Repacking for the implicit-GEMM convolution kernels (src/ops/conv2d-kernels.ts documents the layouts).
//
// pack_input: NCHW activations → per group, channels-last with the zero padding written out:
//   xh[nl][g][y][x][c]   (c < C4, C4 = input channels per group rounded up to 4; extra channels are 0)
// Source pixel of packed (y, x) is ((y + y0) / sy, (x + x0) / sx) when both divide exactly and fall inside the
// source, else 0. The forward uses sy = sx = 1 and y0 = x0 = -padding; the input gradient uses the stride as
// sy, sx (zero insertion) and the "full" padding, so both become a plain stride-1 convolution of xh.
//
// pack_weight: [Cout][Cin/G][KH][KW] → wp[g][k4][co][4]: for each group, vec4 step k4 = tap * C4/4 + c4 and
// output channel co, the weights of the 4 input channels 4c4..4c4+3 at tap = ky * KW + kx (0 past the real
// channels). `flip` = 1 packs the transposed, 180°-rotated kernel the input gradient convolves with.
//
// pack_grad: dY [N][Cout][Ho][Wo] → gt[g][nl][pixel][co] (channels last, co padded to CoP with zeros), for the
// chunk's samples and pixels.
//
// The packed copies keep the source's element type ST (f32, or f16 through src/ops/wgsl-types.ts): an f16 operand
// stays half the bytes all the way into the convolution kernels.

struct InputParams {
  total: u32,      // packed vec4s to write
  C: u32, H: u32, W: u32,      // source channels (all groups), height, width
  Cg: u32, C4: u32, G: u32,    // channels per group, rounded to 4, groups
  Hp: u32, Wp: u32,            // packed height and width
  n0: u32, src_off: u32,       // first sample of this chunk, source offset in elements
  y0: i32, x0: i32,            // source coordinate (before division by the stride) of packed (0, 0)
  sy: u32, sx: u32,
  _pad: u32,
}

struct WeightParams {
  total: u32,
  CoutG: u32, CinG: u32,       // per group, in the packed (possibly transposed) sense
  C4: u32, KH: u32, KW: u32, CoP: u32,
  flip: u32,
  src_cin: u32,                // second dimension of the source weight (its in/groups)
  src_cout_g: u32,             // output channels per group of the source weight
  w_off: u32,
  _pad: u32,
}

struct GradParams {
  total: u32,
  Cout: u32, CoutG: u32, CoP: u32, G: u32,
  P: u32,                      // pixels per sample in this chunk
  n0: u32, Nc: u32, src_off: u32,
  plane: u32, pix0: u32,       // source plane size (Ho * Wo) and the chunk's first pixel in it
  _p0: u32,
}

alias ST = f32;

@group(0) @binding(0) var<storage, read> src: array<ST>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<ST>>;
@group(0) @binding(2) var<uniform> pi: InputParams;

override WG: u32 = 64;

fn flat_id(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// Source value for packed coordinate (t = y + y0 or x + x0, stride s, size n); -1 when it is padding.
fn src_coord(t: i32, s: u32, n: u32) -> i32 {
  if (t < 0) { return -1; }
  let u = u32(t);
  if (u % s != 0u) { return -1; }
  let q = u / s;
  return select(-1, i32(q), q < n);
}

@compute @workgroup_size(WG)
fn pack_input(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= pi.total) { return; }
  let c4n = pi.C4 / 4u;
  let c4 = i % c4n;
  var r = i / c4n;
  let x = r % pi.Wp;
  r = r / pi.Wp;
  let y = r % pi.Hp;
  r = r / pi.Hp;
  let g = r % pi.G;
  let nl = r / pi.G;
  let sy = src_coord(i32(y) + pi.y0, pi.sy, pi.H);
  let sx = src_coord(i32(x) + pi.x0, pi.sx, pi.W);
  var v = vec4<f32>(0.0);
  if (sy >= 0 && sx >= 0) {
    let plane = pi.H * pi.W;
    let base = pi.src_off + ((pi.n0 + nl) * pi.C + g * pi.Cg) * plane + u32(sy) * pi.W + u32(sx);
    for (var e = 0u; e < 4u; e++) {
      let c = c4 * 4u + e;
      if (c < pi.Cg) { v[e] = f32(src[base + c * plane]); }
    }
  }
  dst[i] = vec4<ST>(v);
}

@group(0) @binding(2) var<uniform> pw: WeightParams;

@compute @workgroup_size(WG)
fn pack_weight(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= pw.total) { return; }
  let co = i % pw.CoP;
  var r = i / pw.CoP;
  let c4n = pw.C4 / 4u;
  let k4n = pw.KH * pw.KW * c4n;
  let k4 = r % k4n;
  let g = r / k4n;
  let tap = k4 / c4n;
  let c4 = k4 % c4n;
  var ky = tap / pw.KW;
  var kx = tap % pw.KW;
  var v = vec4<f32>(0.0);
  if (co < pw.CoutG) {
    if (pw.flip != 0u) {
      ky = pw.KH - 1u - ky;
      kx = pw.KW - 1u - kx;
    }
    for (var e = 0u; e < 4u; e++) {
      let ci = min(c4 * 4u + e, pw.CinG - 1u);
      // Source weight [g * src_cout_g + o][c][ky][kx]; the transposed kernel swaps the two channel roles.
      let o = select(co, ci, pw.flip != 0u);
      let c = select(ci, co, pw.flip != 0u);
      let w = f32(src[pw.w_off + (((g * pw.src_cout_g + o) * pw.src_cin + c) * pw.KH + ky) * pw.KW + kx]);
      v[e] = select(0.0, w, c4 * 4u + e < pw.CinG);
    }
  }
  dst[i] = vec4<ST>(v);
}

@group(0) @binding(2) var<uniform> pg: GradParams;

@compute @workgroup_size(WG)
fn pack_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= pg.total) { return; }
  let q4 = pg.CoP / 4u;
  let c4 = i % q4;
  var r = i / q4;
  let px = r % pg.P;
  r = r / pg.P;
  let nl = r % pg.Nc;
  let g = r / pg.Nc;
  var v = vec4<f32>(0.0);
  for (var e = 0u; e < 4u; e++) {
    let co = c4 * 4u + e;
    if (co < pg.CoutG) { v[e] = f32(src[pg.src_off + ((pg.n0 + nl) * pg.Cout + g * pg.CoutG + co) * pg.plane + pg.pix0 + px]); }
  }
  dst[i] = vec4<ST>(v);
}
