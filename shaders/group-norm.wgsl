// GroupNorm forward (optionally fused with SiLU) on a dense x viewed as rows (n, g) of M = cpg·S elements
// (cpg channels of S positions each, contiguous in NCHW). Two passes over x:
//   stats: each workgroup reduces one chunk of one row to (count, mean, M2), computing the chunk mean first
//          and then the sum of squared deviations from it (two-pass: no cancellation from Σx² - (Σx)²/n);
//   apply: each workgroup merges its row's chunk partials (Chan et al.'s parallel variance update), then writes
//          y = (x - mean)·rstd·w[c] + b[c] (then y·sigmoid(y) with SILU) for its chunk, and the first chunk's
//          workgroup saves mean and rstd for the backward pass.
// Chunks keep long rows (a 512² VAE image has 1M elements per group) spread over many workgroups. Weight and
// bias are read once per channel per invocation: inside a chunk the loop runs channel by channel, so no
// per-element division by S is needed (a vector integer division is one scalar divide per lane on CPUs).

struct Params {
  rows: u32, m: u32, s: u32, cpg: u32,
  groups: u32, chunks: u32, chunk: u32, x_off: u32,
  eps: f32, _p0: u32, _p1: u32, _p2: u32,
}

override WG: u32 = 64;
override HAS_W: bool = true;
override HAS_B: bool = true;
override SILU: bool = false;

var<workgroup> red: array<f32, WG>;
var<workgroup> stat: vec2<f32>;

fn wg_sum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

// ---- stats: x (0), partials out (1) ----
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> part_out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn stats(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let lid = lid3.x;
  let chunk = wid.x;
  let row = wid.y;
  let e0 = chunk * p.chunk;
  let e1 = min(e0 + p.chunk, p.m);
  let base = p.x_off + row * p.m;
  var s = 0.0;
  for (var e = e0 + lid; e < e1; e += WG) { s += x[base + e]; }
  let cnt = f32(e1 - e0);
  let mean = wg_sum(s, lid) / cnt;
  var q = 0.0;
  for (var e = e0 + lid; e < e1; e += WG) {
    let d = x[base + e] - mean;
    q = fma(d, d, q);
  }
  let m2 = wg_sum(q, lid);
  if (lid == 0u) {
    let o = (row * p.chunks + chunk) * 3u;
    part_out[o] = cnt;
    part_out[o + 1u] = mean;
    part_out[o + 2u] = m2;
  }
}

// ---- apply: x (0), partials (1), weight (2), bias (3), y (4), mean (5), rstd (6) ----
@group(0) @binding(1) var<storage, read> part_in: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> mean_out: array<f32>;
@group(0) @binding(6) var<storage, read_write> rstd_out: array<f32>;
@group(0) @binding(7) var<uniform> pa: Params;

@compute @workgroup_size(WG)
fn apply(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let lid = lid3.x;
  let chunk = wid.x;
  let row = wid.y;
  if (lid == 0u) {
    var n = 0.0;
    var mean = 0.0;
    var m2 = 0.0;
    for (var c = 0u; c < pa.chunks; c++) {
      let o = (row * pa.chunks + c) * 3u;
      let nb = part_in[o];
      let d = part_in[o + 1u] - mean;
      let nn = n + nb;
      mean += d * (nb / nn);
      m2 += part_in[o + 2u] + d * d * (n * nb / nn);
      n = nn;
    }
    let rstd = inverseSqrt(m2 / n + pa.eps);
    stat = vec2(mean, rstd);
    if (chunk == 0u) {
      mean_out[row] = mean;
      rstd_out[row] = rstd;
    }
  }
  workgroupBarrier();
  let mean = stat.x;
  let rstd = stat.y;
  let g = row % pa.groups;
  let e0 = chunk * pa.chunk;
  let e1 = min(e0 + pa.chunk, pa.m);
  let base = pa.x_off + row * pa.m;
  let obase = row * pa.m;
  for (var c = e0 / pa.s; c * pa.s < e1; c++) {
    let ch = g * pa.cpg + c;
    var sc = rstd;
    if (HAS_W) { sc *= w[ch]; }
    var sh = -mean * sc;
    if (HAS_B) { sh += b[ch]; }
    let lo = max(e0, c * pa.s);
    let hi = min(e1, (c + 1u) * pa.s);
    for (var e = lo + lid; e < hi; e += WG) {
      var v = fma(x[base + e], sc, sh);
      if (SILU) { v = v / (1.0 + exp(-v)); }
      y[obase + e] = v;
    }
  }
}

// ---- fused: x (0), weight (1), bias (2), y (3), mean (4), rstd (5) ----
// Rows of at most one chunk (M <= the host's chunk size): one workgroup per row does both passes, with the same
// arithmetic as stats + apply over a single chunk (so the same bits), in one launch instead of two.
@group(0) @binding(1) var<storage, read> wf: array<f32>;
@group(0) @binding(2) var<storage, read> bf: array<f32>;
@group(0) @binding(3) var<storage, read_write> yf: array<f32>;
@group(0) @binding(4) var<storage, read_write> mean_f: array<f32>;
@group(0) @binding(5) var<storage, read_write> rstd_f: array<f32>;
@group(0) @binding(6) var<uniform> pf: Params;

@compute @workgroup_size(WG)
fn fused(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let lid = lid3.x;
  let row = wid.y;
  let base = pf.x_off + row * pf.m;
  var s = 0.0;
  for (var e = lid; e < pf.m; e += WG) { s += x[base + e]; }
  let cnt = f32(pf.m);
  let mean0 = wg_sum(s, lid) / cnt;
  var q = 0.0;
  for (var e = lid; e < pf.m; e += WG) {
    let d = x[base + e] - mean0;
    q = fma(d, d, q);
  }
  let m2 = wg_sum(q, lid);
  // The apply pass's merge of one chunk, written out: mean = 0 + mean0·(cnt / cnt), M2 = 0 + m2 + d²·0.
  let d = mean0;
  let mean = d * (cnt / cnt);
  let rstd = inverseSqrt((m2 + d * d * (0.0 * cnt / cnt)) / cnt + pf.eps);
  if (lid == 0u) {
    mean_f[row] = mean;
    rstd_f[row] = rstd;
  }
  let g = row % pf.groups;
  let obase = row * pf.m;
  for (var c = 0u; c < pf.cpg; c++) {
    let ch = g * pf.cpg + c;
    var sc = rstd;
    if (HAS_W) { sc *= wf[ch]; }
    var sh = -mean * sc;
    if (HAS_B) { sh += bf[ch]; }
    for (var e = c * pf.s + lid; e < (c + 1u) * pf.s; e += WG) {
      var v = fma(x[base + e], sc, sh);
      if (SILU) { v = v / (1.0 + exp(-v)); }
      yf[obase + e] = v;
    }
  }
}
