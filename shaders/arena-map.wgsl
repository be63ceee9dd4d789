// Whole-arena passes over gradients and parameters (src/optim/arena-ops.ts), one launch per arena chunk instead of
// one or more per parameter: the squared norm and the finite check as per-workgroup partial results, a scale in
// place (clipping, loss-scale removal), and the EMA update. Blocks of 64 elements belong to one slot; a block is
// skipped when its parameter has no gradient this step (`active`), and elements past a parameter's size (slot
// padding) are never touched. See shaders/optim.wgsl for the layout.

struct Params {
  nslots: u32, nblocks: u32, part_off: u32, mode: u32,
  factor: f32, max_norm: f32, decay: f32, keep: f32, // keep = 1 - decay, rounded once on the host as the elementwise path did
  bpw: u32, _p0: u32, _p1: u32, _p2: u32,
}

override WG: u32 = 64;
// Workgroups of the partial-result passes: each walks every PARTS-th block.
override PARTS: u32 = 64;

@group(0) @binding(0) var<storage, read> g_in: array<f32>;
@group(0) @binding(0) var<storage, read_write> g_io: array<f32>;
@group(0) @binding(0) var<storage, read> part_in: array<f32>;
@group(0) @binding(0) var<storage, read_write> shadow: array<f32>;
@group(0) @binding(1) var<storage, read> table: array<vec2<u32>>;
@group(0) @binding(1) var<storage, read_write> total: array<f32>;
@group(0) @binding(1) var<storage, read> param: array<f32>;
@group(0) @binding(2) var<storage, read> live: array<u32>;
@group(0) @binding(2) var<storage, read> table_e: array<vec2<u32>>;
@group(0) @binding(2) var<uniform> pt: Params;
@group(0) @binding(3) var<storage, read_write> part: array<f32>;
@group(0) @binding(3) var<storage, read> norm: array<f32>;
@group(0) @binding(3) var<storage, read> live_e: array<u32>;
@group(0) @binding(4) var<uniform> p: Params;

var<workgroup> acc: array<f32, WG>;

fn find_slot(e: u32) -> u32 {
  var lo = 0u;
  var hi = p.nslots;
  while (hi - lo > 1u) {
    let mid = (lo + hi) / 2u;
    if (table[mid].x <= e) { lo = mid; } else { hi = mid; }
  }
  return lo;
}

// Element `lane` of block `blk` when its parameter is active and it is not padding, else 0xffffffff.
fn element(blk: u32, lane: u32) -> u32 {
  if (blk >= p.nblocks) { return 0xffffffffu; }
  let e0 = blk * WG;
  let k = find_slot(e0);
  if (live[k] == 0u) { return 0xffffffffu; }
  let i = e0 + lane;
  if (i >= table[k].x + table[k].y) { return 0xffffffffu; }
  return i;
}

// As `element`, for blocks walked in order from a known slot `k` (runs of `bpw` blocks per workgroup: lavapipe
// spends ~5 µs per workgroup, more than a block's work).
fn element_in_run(k: ptr<function, u32>, blk: u32, lane: u32) -> u32 {
  let e0 = blk * WG;
  while (*k + 1u < p.nslots && table[*k + 1u].x <= e0) { *k += 1u; }
  if (live[*k] == 0u) { return 0xffffffffu; }
  let i = e0 + lane;
  if (i >= table[*k].x + table[*k].y) { return 0xffffffffu; }
  return i;
}

fn tree(lane: u32, v: f32, is_min: bool) {
  acc[lane] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lane < s) { acc[lane] = select(acc[lane] + acc[lane + s], min(acc[lane], acc[lane + s]), is_min); }
    workgroupBarrier();
  }
}

// part[part_off + w] = Σ g² over the blocks w, w + PARTS, … of this chunk.
@compute @workgroup_size(WG)
fn sumsq(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  var s = 0.0;
  for (var blk = wid.x; blk < p.nblocks; blk += PARTS) {
    let i = element(blk, lid.x);
    if (i != 0xffffffffu) { let g = g_in[i]; s += g * g; }
  }
  tree(lid.x, s, false);
  if (lid.x == 0u) { part[p.part_off + wid.x] = acc[0]; }
}

// part[part_off + w] = 1 when every gradient element of its blocks is finite (not ±inf, not NaN), else 0.
@compute @workgroup_size(WG)
fn finite(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  var ok = 1.0;
  for (var blk = wid.x; blk < p.nblocks; blk += PARTS) {
    let i = element(blk, lid.x);
    // abs(NaN) <= max is false, as is abs(inf) <= max: the elementwise isfinite's test.
    if (i != 0xffffffffu && !(abs(g_in[i]) <= 3.4028234e38)) { ok = 0.0; }
  }
  tree(lid.x, ok, true);
  if (lid.x == 0u) { part[p.part_off + wid.x] = acc[0]; }
}

// g *= factor (mode 0), or g *= min(max_norm / (norm + 1e-6), 1) with the norm from `norm[0]` (mode 1, clipping:
// the same f32 operations as scaleGradsToNorm's elementwise ops).
@compute @workgroup_size(WG)
fn scale(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  var f = p.factor;
  if (p.mode == 1u) { f = min((1.0 / (norm[0] + 1e-6)) * p.max_norm, 1.0); }
  let first = (wid.x + wid.y * nwg.x) * p.bpw;
  let end = min(first + p.bpw, p.nblocks);
  var k = find_slot(first * WG);
  for (var blk = first; blk < end; blk++) {
    let i = element_in_run(&k, blk, lid.x);
    if (i != 0xffffffffu) { g_io[i] = g_io[i] * f; }
  }
}

// total[0] = Σ part (mode 0), sqrt(Σ part) (mode 1) or min(part) (mode 2) over pt.nblocks partial results.
@compute @workgroup_size(WG)
fn combine(@builtin(local_invocation_id) lid: vec3<u32>) {
  let is_min = pt.mode == 2u;
  var s = select(0.0, 1.0, is_min);
  for (var j = lid.x; j < pt.nblocks; j += WG) { s = select(s + part_in[j], min(s, part_in[j]), is_min); }
  tree(lid.x, s, is_min);
  if (lid.x == 0u) { total[0] = select(acc[0], sqrt(acc[0]), pt.mode == 1u); }
}

// shadow = shadow · decay + param · (1 − decay), over the slots EMA tracks (after an optimizer step).
@compute @workgroup_size(WG)
fn ema(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let first = (wid.x + wid.y * nwg.x) * p.bpw;
  let end = min(first + p.bpw, p.nblocks);
  var lo = 0u;
  var hi = p.nslots;
  while (hi - lo > 1u) {
    let mid = (lo + hi) / 2u;
    if (table_e[mid].x <= first * WG) { lo = mid; } else { hi = mid; }
  }
  var k = lo;
  for (var blk = first; blk < end; blk++) {
    let e0 = blk * WG;
    while (k + 1u < p.nslots && table_e[k + 1u].x <= e0) { k += 1u; }
    let i = e0 + lid.x;
    if (live_e[k] != 0u && i < table_e[k].x + table_e[k].y) { shadow[i] = shadow[i] * p.decay + param[i] * p.keep; }
  }
}
