// Softmax / log-softmax along the last axis of a dense [rows, n] tensor: one workgroup per row, three sweeps
// (max, sum of exp(x - max), write). Subtracting the row max keeps exp from overflowing.

struct Params { rows: u32, n: u32, offset: u32, _pad: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

override WG: u32 = 64;
override LOG: bool = false;

var<workgroup> part: array<f32, WG>;

fn reduce_max(v: f32, lid: u32) -> f32 {
  part[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { part[lid] = max(part[lid], part[lid + s]); }
    workgroupBarrier();
  }
  let r = part[0];
  workgroupBarrier();
  return r;
}

fn reduce_sum(v: f32, lid: u32) -> f32 {
  part[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { part[lid] = part[lid] + part[lid + s]; }
    workgroupBarrier();
  }
  let r = part[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let lid = lid3.x;
  let base = p.offset + row * p.n;
  let obase = row * p.n;
  var m = -3.4028234e38;
  for (var j = lid; j < p.n; j += WG) { m = max(m, x[base + j]); }
  m = reduce_max(m, lid);
  var s = 0.0;
  for (var j = lid; j < p.n; j += WG) { s += exp(x[base + j] - m); }
  s = reduce_sum(s, lid);
  if (LOG) {
    let lse = m + log(s);
    for (var j = lid; j < p.n; j += WG) { y[obase + j] = x[base + j] - lse; }
  } else {
    let inv = 1.0 / s;
    for (var j = lid; j < p.n; j += WG) { y[obase + j] = exp(x[base + j] - m) * inv; }
  }
}
