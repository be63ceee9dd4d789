// LayerNorm over the last M elements of each row of a dense x (rows = everything before the normalised dims).
// Rows are short and many (tokens x channels), so one workgroup owns a row and does everything in one dispatch:
//   forward:  mean, then the sum of squared deviations from it (two-pass, no cancellation), then
//             y = (x - mean)·rstd·w[j] + b[j]; mean and rstd are saved for backward. The row stays in cache.
//   backward: dx = rstd·(w·g - mean(w·g) - x̂·mean(w·g·x̂)) per row, again one workgroup per row;
//   params:   dw[j] = Σ_rows g·x̂ and db[j] = Σ_rows g, one invocation per column j for a block of rows
//             (partials per block; the host sums the blocks).

struct Params { rows: u32, m: u32, x_off: u32, g_off: u32, eps: f32, block: u32, _p0: u32, _p1: u32 }

override WG: u32 = 64;
override HAS_W: bool = true;
override HAS_B: bool = true;
// The input gradient is added to what dx holds (a gradient already collected for the input) instead of written.
override ACC: bool = false;

var<workgroup> red_a: array<f32, WG>;
var<workgroup> red_b: array<f32, WG>;

fn wg_sum(v: f32, lid: u32) -> f32 {
  red_a[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { red_a[lid] = red_a[lid] + red_a[lid + s]; }
    workgroupBarrier();
  }
  let r = red_a[0];
  workgroupBarrier();
  return r;
}

fn wg_sum2(a: f32, b: f32, lid: u32) -> vec2<f32> {
  red_a[lid] = a;
  red_b[lid] = b;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) {
      red_a[lid] = red_a[lid] + red_a[lid + s];
      red_b[lid] = red_b[lid] + red_b[lid + s];
    }
    workgroupBarrier();
  }
  let r = vec2(red_a[0], red_b[0]);
  workgroupBarrier();
  return r;
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;

fn weight(j: u32) -> f32 {
  if (HAS_W) { return w[j]; }
  return 1.0;
}

// y of element j of a row from its statistics (forward) and dx from the row's two gradient means (backward).
fn normalized(v: f32, j: u32, mean: f32, rstd: f32) -> f32 {
  var r = (v - mean) * rstd * weight(j);
  if (HAS_B) { r += b[j]; }
  return r;
}
fn input_grad(wg: f32, xh: f32, rstd: f32, sums: vec2<f32>) -> f32 {
  return rstd * (wg - sums.x - xh * sums.y);
}

// ---- forward: x (0), weight (1), bias (2), y (3), mean (4), rstd (5) ----
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> mean_out: array<f32>;
@group(0) @binding(5) var<storage, read_write> rstd_out: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let lid = lid3.x;
  let base = p.x_off + row * p.m;
  var s = 0.0;
  for (var j = lid; j < p.m; j += WG) { s += x[base + j]; }
  let mean = wg_sum(s, lid) / f32(p.m);
  var q = 0.0;
  for (var j = lid; j < p.m; j += WG) {
    let d = x[base + j] - mean;
    q = fma(d, d, q);
  }
  let rstd = inverseSqrt(wg_sum(q, lid) / f32(p.m) + p.eps);
  let obase = row * p.m;
  for (var j = lid; j < p.m; j += WG) { y[obase + j] = normalized(x[base + j], j, mean, rstd); }
  if (lid == 0u) {
    mean_out[row] = mean;
    rstd_out[row] = rstd;
  }
}

// Short rows on CPU adapters: one invocation owns a row (see backward_rows).
@compute @workgroup_size(WG)
fn forward_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= p.rows) { return; }
  let base = p.x_off + row * p.m;
  var s = 0.0;
  for (var j = 0u; j < p.m; j++) { s += x[base + j]; }
  let mean = s / f32(p.m);
  var q = 0.0;
  for (var j = 0u; j < p.m; j++) {
    let d = x[base + j] - mean;
    q = fma(d, d, q);
  }
  let rstd = inverseSqrt(q / f32(p.m) + p.eps);
  let obase = row * p.m;
  for (var j = 0u; j < p.m; j++) { y[obase + j] = normalized(x[base + j], j, mean, rstd); }
  mean_out[row] = mean;
  rstd_out[row] = rstd;
}

// ---- backward: x (0), weight (1), g (2), mean (3), rstd (4), dx (5) ----
@group(0) @binding(2) var<storage, read> gy: array<f32>;
@group(0) @binding(3) var<storage, read> mean_in: array<f32>;
@group(0) @binding(4) var<storage, read> rstd_in: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx_out: array<f32>;
@group(0) @binding(6) var<uniform> pb: Params;

@compute @workgroup_size(WG)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= pb.rows) { return; }
  let lid = lid3.x;
  let base = pb.x_off + row * pb.m;
  let gbase = pb.g_off + row * pb.m;
  let mean = mean_in[row];
  let rstd = rstd_in[row];
  var a = 0.0;
  var c = 0.0;
  for (var j = lid; j < pb.m; j += WG) {
    let wg = weight(j) * gy[gbase + j];
    a += wg;
    c = fma(wg, (x[base + j] - mean) * rstd, c);
  }
  let sums = wg_sum2(a, c, lid) / f32(pb.m);
  let obase = row * pb.m;
  for (var j = lid; j < pb.m; j += WG) {
    let v = input_grad(weight(j) * gy[gbase + j], (x[base + j] - mean) * rstd, rstd, sums);
    dx_out[obase + j] = select(v, dx_out[obase + j] + v, ACC);
  }
}

// Short rows on CPU adapters: one invocation owns a row (no shared memory, no barriers). Lavapipe pays a few µs per
// workgroup whatever its work, so a workgroup per row made 16384 rows of 32 take 45 ms.
@compute @workgroup_size(WG)
fn backward_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= pb.rows) { return; }
  let base = pb.x_off + row * pb.m;
  let gbase = pb.g_off + row * pb.m;
  let mean = mean_in[row];
  let rstd = rstd_in[row];
  var sums = vec2(0.0);
  for (var j = 0u; j < pb.m; j++) {
    let wg = weight(j) * gy[gbase + j];
    sums += vec2(wg, wg * (x[base + j] - mean) * rstd);
  }
  sums /= f32(pb.m);
  let obase = row * pb.m;
  for (var j = 0u; j < pb.m; j++) {
    let v = input_grad(weight(j) * gy[gbase + j], (x[base + j] - mean) * rstd, rstd, sums);
    dx_out[obase + j] = select(v, dx_out[obase + j] + v, ACC);
  }
}

// ---- params: x (0), g (1), mean (2), rstd (3), partials out (4): [blocks, 2, m] ----
@group(0) @binding(1) var<storage, read> gp: array<f32>;
@group(0) @binding(2) var<storage, read> mean_p: array<f32>;
@group(0) @binding(3) var<storage, read> rstd_p: array<f32>;
@group(0) @binding(4) var<storage, read_write> dw_part: array<f32>;
@group(0) @binding(5) var<storage, read_write> db_part: array<f32>;
@group(0) @binding(6) var<uniform> pp: Params;

@compute @workgroup_size(WG)
fn params(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let j = gid.x;
  if (j >= pp.m) { return; }
  let blk = wid.y;
  let r0 = blk * pp.block;
  let r1 = min(r0 + pp.block, pp.rows);
  var dw = 0.0;
  var db = 0.0;
  for (var r = r0; r < r1; r++) {
    let g = gp[pp.g_off + r * pp.m + j];
    dw = fma(g, (x[pp.x_off + r * pp.m + j] - mean_p[r]) * rstd_p[r], dw);
    db += g;
  }
  // One row block: these are the gradients themselves (the host binds the parameters' gradient buffers).
  dw_part[blk * pp.m + j] = dw;
  db_part[blk * pp.m + j] = db;
}
