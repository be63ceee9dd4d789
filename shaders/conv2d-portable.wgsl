// Portable 2-D convolution (NCHW, PyTorch semantics) as implicit GEMM, for adapters without subgroups, real GPUs
// and few channels per group (src/ops/conv2d-plan.ts chooses): the im2col matrix is never stored; each operand
// element is computed from its (pixel, channel, ky, kx) coordinates as the loop needs it. Three entry points:
//   forward        y[n, co, p]   = sum_k  x_col[n, p, k] · w[co, k]            (M = pixels, N = out channels)
//   backward_data  dx[n, ci, q]  = sum_k' g_col[n, q, k'] · w[k', ci]          (M = input pixels, N = in channels)
//   backward_weight dw[co, k]    = sum_{n,p} g[n, co, p] · x_col[n, p, k]      (M = out channels, N = k)
// with k = (ci, ky, kx) within the group. Each invocation accumulates a TM x TN block in registers (TM/TN are
// spliced in by src/ops/conv2d-kernels.ts; the workgroup shape is an override), rows and columns interleaved across
// invocations so neighbours touch neighbouring addresses. Groups run as separate dispatches (ci0/co0 offsets).
// AT, BT, OT are the storage types of src_a, src_b, dst (src/ops/wgsl-types.ts makes any of them f16); sums are f32.

struct Params {
  n_batch: u32, cin: u32, h: u32, w: u32,
  cout: u32, oh: u32, ow: u32, kh: u32,
  kw: u32, sh: u32, sw: u32, ph: u32,
  pw: u32, dh: u32, dw: u32, cin_g: u32,
  cout_g: u32, ci0: u32, co0: u32, x_off: u32,
}

alias AT = f32;
alias BT = f32;
alias OT = f32;

@group(0) @binding(0) var<storage, read> src_a: array<AT>;
@group(0) @binding(1) var<storage, read> src_b: array<BT>;
@group(0) @binding(2) var<storage, read_write> dst: array<OT>;
@group(0) @binding(3) var<uniform> p: Params;

const TM: u32 = /*TM*/4u;
const TN: u32 = /*TN*/4u;
override WX: u32 = 8;
override WY: u32 = 8;

// Input value at output pixel `pix` of image n, kernel entry (ci, ky, kx); 0 in the padding.
fn x_at(n: u32, pix: u32, ci: u32, ky: u32, kx: u32) -> f32 {
  let oy = pix / p.ow;
  let ox = pix % p.ow;
  let iy = i32(oy * p.sh + ky * p.dh) - i32(p.ph);
  let ix = i32(ox * p.sw + kx * p.dw) - i32(p.pw);
  if (iy < 0 || ix < 0 || iy >= i32(p.h) || ix >= i32(p.w)) { return 0.0; }
  return f32(src_a[p.x_off + ((n * p.cin + p.ci0 + ci) * p.h + u32(iy)) * p.w + u32(ix)]);
}

@compute @workgroup_size(WX, WY, 1)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let n = wid.z;
  let npix = p.oh * p.ow;
  let kk = p.kh * p.kw;
  let K = p.cin_g * kk;
  let row_base = wid.y * WY * TM + lid.y;
  let col_base = wid.x * WX * TN + lid.x;
  var acc: array<f32, TM * TN>;
  for (var k = 0u; k < K; k++) {
    let ci = k / kk;
    let r = k % kk;
    let ky = r / p.kw;
    let kx = r % p.kw;
    var av: array<f32, TM>;
    var bv: array<f32, TN>;
    for (var i = 0u; i < TM; i++) {
      let pix = row_base + i * WY;
      av[i] = select(0.0, x_at(n, pix, ci, ky, kx), pix < npix);
    }
    for (var j = 0u; j < TN; j++) {
      let co = min(col_base + j * WX, p.cout_g - 1u);
      bv[j] = f32(src_b[(p.co0 + co) * K + k]);
    }
    for (var i = 0u; i < TM; i++) {
      for (var j = 0u; j < TN; j++) { acc[i * TN + j] = fma(av[i], bv[j], acc[i * TN + j]); }
    }
  }
  for (var i = 0u; i < TM; i++) {
    let pix = row_base + i * WY;
    if (pix >= npix) { continue; }
    for (var j = 0u; j < TN; j++) {
      let co = col_base + j * WX;
      if (co < p.cout_g) { dst[(n * p.cout + p.co0 + co) * npix + pix] = OT(acc[i * TN + j]); }
    }
  }
}

// dx: src_a = g [N, Cout, OH, OW] (dense), src_b = w. An input pixel receives from output pixel (oy, ox) through
// kernel entry (ky, kx) when iy + ph - ky*dh = oy*sh (and likewise in x).
@compute @workgroup_size(WX, WY, 1)
fn backward_data(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let n = wid.z;
  let npix = p.h * p.w;
  let kk = p.kh * p.kw;
  let K = p.cout_g * kk;
  let Kw = p.cin_g * kk;
  let row_base = wid.y * WY * TM + lid.y;
  let col_base = wid.x * WX * TN + lid.x;
  var acc: array<f32, TM * TN>;
  for (var k = 0u; k < K; k++) {
    let co = k / kk;
    let r = k % kk;
    let ky = r / p.kw;
    let kx = r % p.kw;
    var av: array<f32, TM>;
    var bv: array<f32, TN>;
    for (var i = 0u; i < TM; i++) {
      let q = row_base + i * WY;
      var v = 0.0;
      if (q < npix) {
        let ty = i32(q / p.w) + i32(p.ph) - i32(ky * p.dh);
        let tx = i32(q % p.w) + i32(p.pw) - i32(kx * p.dw);
        if (ty >= 0 && tx >= 0 && (u32(ty) % p.sh) == 0u && (u32(tx) % p.sw) == 0u) {
          let oy = u32(ty) / p.sh;
          let ox = u32(tx) / p.sw;
          if (oy < p.oh && ox < p.ow) { v = f32(src_a[((n * p.cout + p.co0 + co) * p.oh + oy) * p.ow + ox]); }
        }
      }
      av[i] = v;
    }
    for (var j = 0u; j < TN; j++) {
      let ci = min(col_base + j * WX, p.cin_g - 1u);
      bv[j] = f32(src_b[(p.co0 + co) * Kw + ci * kk + r]);
    }
    for (var i = 0u; i < TM; i++) {
      for (var j = 0u; j < TN; j++) { acc[i * TN + j] = fma(av[i], bv[j], acc[i * TN + j]); }
    }
  }
  for (var i = 0u; i < TM; i++) {
    let q = row_base + i * WY;
    if (q >= npix) { continue; }
    for (var j = 0u; j < TN; j++) {
      let ci = col_base + j * WX;
      if (ci < p.cin_g) { dst[(n * p.cin + p.ci0 + ci) * npix + q] = OT(acc[i * TN + j]); }
    }
  }
}

// dw: src_a = x, src_b = g (dense). Rows are out channels of the group, columns kernel entries (ci, ky, kx).
@compute @workgroup_size(WX, WY, 1)
fn backward_weight(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let npix = p.oh * p.ow;
  let kk = p.kh * p.kw;
  let Kw = p.cin_g * kk;
  let row_base = wid.y * WY * TM + lid.y;
  let col_base = wid.x * WX * TN + lid.x;
  var ci_j: array<u32, TN>;
  var ky_j: array<u32, TN>;
  var kx_j: array<u32, TN>;
  for (var j = 0u; j < TN; j++) {
    let k = min(col_base + j * WX, Kw - 1u);
    ci_j[j] = k / kk;
    ky_j[j] = (k % kk) / p.kw;
    kx_j[j] = k % p.kw;
  }
  var acc: array<f32, TM * TN>;
  for (var n = 0u; n < p.n_batch; n++) {
    for (var pix = 0u; pix < npix; pix++) {
      var av: array<f32, TM>;
      var bv: array<f32, TN>;
      for (var i = 0u; i < TM; i++) {
        let co = min(row_base + i * WY, p.cout_g - 1u);
        av[i] = f32(src_b[(n * p.cout + p.co0 + co) * npix + pix]);
      }
      for (var j = 0u; j < TN; j++) { bv[j] = x_at(n, pix, ci_j[j], ky_j[j], kx_j[j]); }
      for (var i = 0u; i < TM; i++) {
        for (var j = 0u; j < TN; j++) { acc[i * TN + j] = fma(av[i], bv[j], acc[i * TN + j]); }
      }
    }
  }
  for (var i = 0u; i < TM; i++) {
    let co = row_base + i * WY;
    if (co >= p.cout_g) { continue; }
    for (var j = 0u; j < TN; j++) {
      let k = col_base + j * WX;
      if (k < Kw) { dst[(p.co0 + co) * Kw + k] = OT(acc[i * TN + j]); }
    }
  }
}
