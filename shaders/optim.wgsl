// Multi-tensor optimizer kernels over an arena chunk (src/optim/param-arena.ts): every parameter of the chunk,
// its gradient, its moments live at the same element offsets of their buffers, in slots that start on 64-element
// boundaries, so each 64-element block lies in one slot. A workgroup of WG = 64 invocations walks a run of `bpw`
// consecutive blocks: it finds the first block's slot by a binary search over the chunk's slot table (start,
// size), then steps forward slot by slot, and skips blocks whose parameter has no gradient this step (`live`), as
// PyTorch skips parameters whose .grad is None. (Runs, not one block per workgroup: lavapipe spends ~5 µs per
// workgroup, which at one block each cost more than the updates.) One launch updates the whole chunk; the
// per-element arithmetic is the single-tensor kernel's, in the same order, so results are bit-identical.

struct Params {
  nslots: u32, nblocks: u32, bpw: u32, mode: u32,
  lr: f32, beta1: f32, beta2: f32, eps: f32,
  weight_decay: f32, bias_c1: f32, bias_c2: f32, momentum: f32,
  grad_scale: f32, dampening: f32, decay: f32, max_norm: f32,
}

@group(0) @binding(0) var<storage, read_write> param: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read> table: array<vec2<u32>>;
@group(0) @binding(5) var<storage, read> live: array<u32>;
@group(0) @binding(6) var<uniform> p: Params;

override WG: u32 = 64;

// The slot holding element e: the last slot whose start is <= e.
fn find_slot(e: u32) -> u32 {
  var lo = 0u;
  var hi = p.nslots;
  while (hi - lo > 1u) {
    let mid = (lo + hi) / 2u;
    if (table[mid].x <= e) { lo = mid; } else { hi = mid; }
  }
  return lo;
}

// This workgroup's blocks [first, end) and the slot of `first`.
struct Run { first: u32, end: u32, slot: u32 }
fn run_of(wid: vec3<u32>, nwg: vec3<u32>) -> Run {
  let first = (wid.x + wid.y * nwg.x) * p.bpw;
  let end = min(first + p.bpw, p.nblocks);
  return Run(first, end, find_slot(first * WG));
}

// Advances `k` to the slot of block `blk` (blocks are walked in order) and returns the element this invocation
// updates, or 0xffffffff when its parameter has no gradient or the element is slot padding.
fn element(k: ptr<function, u32>, blk: u32, lane: u32) -> u32 {
  let e0 = blk * WG;
  while (*k + 1u < p.nslots && table[*k + 1u].x <= e0) { *k += 1u; }
  if (live[*k] == 0u) { return 0xffffffffu; }
  let i = e0 + lane;
  if (i >= table[*k].x + table[*k].y) { return 0xffffffffu; }
  return i;
}

// AdamW (Loshchilov & Hutter): decoupled weight decay, bias-corrected moments; as torch.optim.AdamW.
@compute @workgroup_size(WG)
fn adamw(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let r = run_of(wid, nwg);
  var k = r.slot;
  for (var blk = r.first; blk < r.end; blk++) {
    let i = element(&k, blk, lid.x);
    if (i == 0xffffffffu) { continue; }
    let g = grad[i] * p.grad_scale;
    var w = param[i] * (1.0 - p.lr * p.weight_decay);
    let mi = p.beta1 * m[i] + (1.0 - p.beta1) * g;
    let vi = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    let mhat = mi / p.bias_c1;
    let vhat = vi / p.bias_c2;
    param[i] = w - p.lr * mhat / (sqrt(vhat) + p.eps);
  }
}

// SGD with momentum and (coupled) weight decay, as torch.optim.SGD; bias_c1 == 0 marks the first step, which
// seeds the momentum buffer with the gradient as PyTorch does. `v` is unused but bound, for one binding layout.
@compute @workgroup_size(WG)
fn sgd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let r = run_of(wid, nwg);
  var k = r.slot;
  for (var blk = r.first; blk < r.end; blk++) {
    let i = element(&k, blk, lid.x);
    if (i == 0xffffffffu) { continue; }
    let g = grad[i] * p.grad_scale + p.weight_decay * param[i];
    var step = g;
    if (p.momentum != 0.0) {
      let buf = select(p.momentum * m[i] + (1.0 - p.dampening) * g, g, p.bias_c1 == 0.0);
      m[i] = buf;
      step = buf;
    }
    param[i] = param[i] - p.lr * step;
    if (i == 0u) { v[0] = v[0]; }
  }
}
