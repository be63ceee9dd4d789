// GroupNorm backward from the saved mean and rstd (per row (n, g)). With x̂ = (x - mean)·rstd, y = x̂·w + b and
// g the gradient reaching y (for the fused SiLU, g = dz·σ(y)(1 + y(1 - σ(y))), y recomputed from x):
//   dx = rstd·(w·g - mean_group(w·g) - x̂·mean_group(w·g·x̂)),  dw = Σ_{n,s} g·x̂,  db = Σ_{n,s} g.
// Both group means and both parameter gradients come from two per-(n, c) sums, A = Σ_s g and B = Σ_s g·x̂:
//   reduce: one workgroup per (n, c, chunk of S) writes the chunk's (A, B);
//   coef:   one invocation per (n, g) gives c1 = Σ_{c∈g} w·A / M and c2 = Σ_{c∈g} w·B / M;
//   params: one invocation per channel gives dw = Σ_n B and db = Σ_n A;
//   dx:     one workgroup per (row, chunk), channel by channel as in the forward apply pass.

struct Params {
  n: u32, channels: u32, groups: u32, cpg: u32,
  s: u32, chunks: u32, chunk: u32, x_off: u32,
  m: u32, g_off: u32, _p1: u32, _p2: u32,
}

override WG: u32 = 64;
override HAS_W: bool = true;
override HAS_B: bool = true;
override SILU: bool = false;
// The fused pass adds dx to what it holds (a gradient already collected for the input) instead of writing it.
override ACC: bool = false;

var<workgroup> red_a: array<f32, WG>;
var<workgroup> red_b: array<f32, WG>;

/** The gradient reaching the affine output y: dz itself, or through the fused SiLU. */
fn grad_y(dz: f32, xh: f32, wc: f32, bc: f32) -> f32 {
  if (!SILU) { return dz; }
  let v = fma(xh, wc, bc);
  let sg = 1.0 / (1.0 + exp(-v));
  return dz * sg * (1.0 + v * (1.0 - sg));
}

// ---- reduce: x (0), dz (1), weight (2), bias (3), mean (4), rstd (5), partial sums out (6) ----
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dz: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read> mean_in: array<f32>;
@group(0) @binding(5) var<storage, read> rstd_in: array<f32>;
@group(0) @binding(6) var<storage, read_write> sums_out: array<f32>;
@group(0) @binding(7) var<uniform> p: Params;

fn weight(ch: u32) -> f32 {
  if (HAS_W) { return w[ch]; }
  return 1.0;
}
fn bias(ch: u32) -> f32 {
  if (HAS_B) { return b[ch]; }
  return 0.0;
}

// A = Σ_s g_y and B = Σ_s g_y·x̂ over positions [s0, s1) of channel ch of sample-channel row nc: each lane walks
// every WG-th position, then a tree; every lane gets the pair.
fn grad_sums(nc: u32, ch: u32, row: u32, s: u32, x_off: u32, g_off: u32, s0: u32, s1: u32, lid: u32) -> vec2<f32> {
  let mean = mean_in[row];
  let rstd = rstd_in[row];
  let wc = weight(ch);
  let bc = bias(ch);
  var a = 0.0;
  var bb = 0.0;
  for (var i = s0 + lid; i < s1; i += WG) {
    let xh = (x[x_off + nc * s + i] - mean) * rstd;
    let gy = grad_y(dz[g_off + nc * s + i], xh, wc, bc);
    a += gy;
    bb = fma(gy, xh, bb);
  }
  red_a[lid] = a;
  red_b[lid] = bb;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k = k / 2u) {
    if (lid < k) {
      red_a[lid] = red_a[lid] + red_a[lid + k];
      red_b[lid] = red_b[lid] + red_b[lid + k];
    }
    workgroupBarrier();
  }
  let r = vec2(red_a[0], red_b[0]);
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn reduce(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let lid = lid3.x;
  let chunk = wid.x;
  let nc = wid.y + wid.z * nwg.y;
  if (nc >= p.n * p.channels) { return; }
  let ch = nc % p.channels;
  let row = (nc / p.channels) * p.groups + ch / p.cpg;
  let s0 = chunk * p.chunk;
  let r = grad_sums(nc, ch, row, p.s, p.x_off, p.g_off, s0, min(s0 + p.chunk, p.s), lid);
  if (lid == 0u) {
    let o = (nc * p.chunks + chunk) * 2u;
    sums_out[o] = r.x;
    sums_out[o + 1u] = r.y;
  }
}

// ---- coef: sums (0), weight (1), coefficients out (2) ----
@group(0) @binding(0) var<storage, read> sums: array<f32>;
@group(0) @binding(1) var<storage, read> wq: array<f32>;
@group(0) @binding(2) var<storage, read_write> coef_out: array<f32>;
@group(0) @binding(3) var<uniform> pc: Params;

@compute @workgroup_size(WG)
fn coef(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x;
  if (row >= pc.n * pc.groups) { return; }
  let n = row / pc.groups;
  let g = row % pc.groups;
  var ca = 0.0;
  var cb = 0.0;
  for (var c = 0u; c < pc.cpg; c++) {
    let ch = g * pc.cpg + c;
    var wc = 1.0;
    if (HAS_W) { wc = wq[ch]; }
    var a = 0.0;
    var bb = 0.0;
    for (var k = 0u; k < pc.chunks; k++) {
      let o = ((n * pc.channels + ch) * pc.chunks + k) * 2u;
      a += sums[o];
      bb += sums[o + 1u];
    }
    ca = fma(wc, a, ca);
    cb = fma(wc, bb, cb);
  }
  let inv_m = 1.0 / f32(pc.m);
  coef_out[row * 2u] = ca * inv_m;
  coef_out[row * 2u + 1u] = cb * inv_m;
}

// ---- params: sums (0), dweight out (1), dbias out (2) ----
@group(0) @binding(1) var<storage, read_write> dw_out: array<f32>;
@group(0) @binding(2) var<storage, read_write> db_out: array<f32>;

@compute @workgroup_size(WG)
fn params(@builtin(global_invocation_id) gid: vec3<u32>) {
  let ch = gid.x;
  if (ch >= pc.channels) { return; }
  var a = 0.0;
  var bb = 0.0;
  for (var n = 0u; n < pc.n; n++) {
    for (var k = 0u; k < pc.chunks; k++) {
      let o = ((n * pc.channels + ch) * pc.chunks + k) * 2u;
      a += sums[o];
      bb += sums[o + 1u];
    }
  }
  dw_out[ch] = bb;
  db_out[ch] = a;
}

// ---- dx: x (0), dz (1), weight (2), bias (3), mean (4), rstd (5), coefficients (6), dx out (7) ----
@group(0) @binding(6) var<storage, read> coefs: array<f32>;
@group(0) @binding(7) var<storage, read_write> dx_out: array<f32>;
@group(0) @binding(8) var<uniform> pd: Params;

@compute @workgroup_size(WG)
fn dx(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let lid = lid3.x;
  let chunk = wid.x;
  let row = wid.y;
  let g = row % pd.groups;
  let mean = mean_in[row];
  let rstd = rstd_in[row];
  let c1 = coefs[row * 2u];
  let c2 = coefs[row * 2u + 1u];
  let e0 = chunk * pd.chunk;
  let e1 = min(e0 + pd.chunk, pd.m);
  let base = row * pd.m;
  for (var c = e0 / pd.s; c * pd.s < e1; c++) {
    let ch = g * pd.cpg + c;
    let wc = weight(ch);
    let bc = bias(ch);
    let lo = max(e0, c * pd.s);
    let hi = min(e1, (c + 1u) * pd.s);
    for (var e = lo + lid; e < hi; e += WG) {
      let xh = (x[pd.x_off + base + e] - mean) * rstd;
      let gy = grad_y(dz[pd.g_off + base + e], xh, wc, bc);
      dx_out[base + e] = rstd * (wc * gy - c1 - xh * c2);
    }
  }
}

// ---- fused: x (0), dz (1), weight (2), bias (3), mean (4), rstd (5), dx (6), dweight (7), dbias (8) ----
// Small inputs (every sample of a group fits one workgroup's pass, S and M within one chunk): one workgroup per
// group g does reduce, coef, params and dx for all samples, with the same sums in the same order as those four
// passes (so the same bits), in one launch instead of four.
const FUSED_MAX: u32 = 256u; // samples × channels per group held in workgroup memory
var<workgroup> sum_a: array<f32, FUSED_MAX>;
var<workgroup> sum_b: array<f32, FUSED_MAX>;
var<workgroup> coef_w: array<vec2<f32>, FUSED_MAX>;
@group(0) @binding(6) var<storage, read_write> dx_f: array<f32>;
@group(0) @binding(7) var<storage, read_write> dw_f: array<f32>;
@group(0) @binding(8) var<storage, read_write> db_f: array<f32>;
@group(0) @binding(9) var<uniform> pf: Params;

@compute @workgroup_size(WG)
fn fused(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let lid = lid3.x;
  let g = wid.x;
  // Per (n, c): A = Σ_s g_y, B = Σ_s g_y·x̂, as the reduce pass computes them for one chunk.
  for (var n = 0u; n < pf.n; n++) {
    for (var c = 0u; c < pf.cpg; c++) {
      let ch = g * pf.cpg + c;
      let r = grad_sums(n * pf.channels + ch, ch, n * pf.groups + g, pf.s, pf.x_off, pf.g_off, 0u, pf.s, lid);
      if (lid == 0u) {
        sum_a[n * pf.cpg + c] = r.x;
        sum_b[n * pf.cpg + c] = r.y;
      }
    }
  }
  workgroupBarrier();
  // coef per sample (as the coef pass, adding 0 + a for its single chunk), and the parameter gradients.
  if (lid < pf.n) {
    var ca = 0.0;
    var cb = 0.0;
    for (var c = 0u; c < pf.cpg; c++) {
      let wc = weight(g * pf.cpg + c);
      ca = fma(wc, 0.0 + sum_a[lid * pf.cpg + c], ca);
      cb = fma(wc, 0.0 + sum_b[lid * pf.cpg + c], cb);
    }
    let inv_m = 1.0 / f32(pf.m);
    coef_w[lid] = vec2(ca * inv_m, cb * inv_m);
  }
  for (var c = lid; c < pf.cpg; c += WG) {
    var a = 0.0;
    var bb = 0.0;
    for (var n = 0u; n < pf.n; n++) {
      a += sum_a[n * pf.cpg + c];
      bb += sum_b[n * pf.cpg + c];
    }
    dw_f[g * pf.cpg + c] = bb;
    db_f[g * pf.cpg + c] = a;
  }
  workgroupBarrier();
  for (var n = 0u; n < pf.n; n++) {
    let row = n * pf.groups + g;
    let mean = mean_in[row];
    let rstd = rstd_in[row];
    let c1 = coef_w[n].x;
    let c2 = coef_w[n].y;
    let base = row * pf.m;
    for (var c = 0u; c < pf.cpg; c++) {
      let ch = g * pf.cpg + c;
      let wc = weight(ch);
      let bc = bias(ch);
      for (var e = c * pf.s + lid; e < (c + 1u) * pf.s; e += WG) {
        let xh = (x[pf.x_off + base + e] - mean) * rstd;
        let gy = grad_y(dz[pf.g_off + base + e], xh, wc, bc);
        let v = rstd * (wc * gy - c1 - xh * c2);
        dx_f[base + e] = select(v, dx_f[base + e] + v, ACC);
      }
    }
  }
}
