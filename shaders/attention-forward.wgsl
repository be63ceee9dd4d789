// Fused attention forward, portable version (any adapter; attention-forward-subgroup.wgsl is the CPU-SIMD one):
// flash-style online softmax, O = softmax(scale * Q Kᵀ) V without ever storing the Lq x Lk score matrix.
// One invocation owns one query row: its q (pre-multiplied by scale * log2(e), so the softmax uses exp2) and
// its output accumulator stay in private memory, and it streams over the keys in blocks of BC. Every invocation
// of a workgroup reads the same K/V element at the same time (the address depends only on the workgroup and
// loop counters), a cache broadcast on GPUs. (lavapipe emulates every load lane by lane, broadcast or not:
// there the subgroup kernel, which loads each element once per subgroup, is ~10x faster.) Per block the running
// max m and sum l are updated once and the accumulator rescaled once.
// Writes O (dense [B, H, Lq, DV]) and the per-row logsumexp (natural log) that the backward pass needs to
// recompute probabilities. DK, DV, BC are spliced in by src/ops/attention.ts (function-scope array sizes must
// be constants).

// QT, KT, VT, OT are the storage types of q, k, v and the output (src/ops/wgsl-types.ts makes any of them f16);
// loads widen to f32, and the scores, softmax and accumulators are f32.
alias QT = f32;
alias KT = f32;
alias VT = f32;
alias OT = f32;

@group(0) @binding(0) var<storage, read> q: array<QT>;
@group(0) @binding(1) var<storage, read> k: array<KT>;
@group(0) @binding(2) var<storage, read> v: array<VT>;
@group(0) @binding(3) var<storage, read_write> o: array<OT>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

const DK: u32 = /*DK*/64u;
const DV: u32 = /*DV*/64u;
const BC: u32 = /*BC*/8u;
const LOG2E: f32 = 1.4426950408889634;
const LN2: f32 = 0.6931471805599453;
const NEG_BIG: f32 = -3.4028234e38;
override WG: u32 = 8;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let h = wid.y;
  let b = wid.z;
  let row_raw = wid.x * WG + lid.x;
  // Rows past the end compute on the last row (valid addresses, uniform control flow) and skip the write.
  let row = min(row_raw, p.lq - 1u);
  let q_base = p.q_off + b * p.q_bs + h * p.q_hs + row * p.q_rs;
  let k_base = p.k_off + b * p.k_bs + h * p.k_hs;
  let v_base = p.v_off + b * p.v_bs + h * p.v_hs;
  let qs = p.scale * LOG2E;

  var qr: array<f32, DK>;
  for (var c = 0u; c < DK; c++) { qr[c] = f32(q[q_base + c]) * qs; }
  var acc: array<f32, DV>;
  for (var c = 0u; c < DV; c++) { acc[c] = 0.0; }
  var m = NEG_BIG;
  var l = 0.0;

  for (var j0 = 0u; j0 < p.lk; j0 += BC) {
    var s: array<f32, BC>;
    var kr: array<u32, BC>;
    for (var jj = 0u; jj < BC; jj++) {
      s[jj] = 0.0;
      kr[jj] = k_base + min(j0 + jj, p.lk - 1u) * p.k_rs;
    }
    for (var c = 0u; c < DK; c++) {
      let qc = qr[c];
      for (var jj = 0u; jj < BC; jj++) { s[jj] = fma(qc, f32(k[kr[jj] + c]), s[jj]); }
    }
    var bm = m;
    for (var jj = 0u; jj < BC; jj++) {
      if (j0 + jj >= p.lk) { s[jj] = NEG_BIG; }
      bm = max(bm, s[jj]);
    }
    let alpha = exp2(m - bm);
    m = bm;
    var ps = 0.0;
    var vr: array<u32, BC>;
    for (var jj = 0u; jj < BC; jj++) {
      s[jj] = exp2(s[jj] - m);
      ps += s[jj];
      vr[jj] = v_base + min(j0 + jj, p.lk - 1u) * p.v_rs;
    }
    l = l * alpha + ps;
    for (var c = 0u; c < DV; c++) {
      var a = acc[c] * alpha;
      for (var jj = 0u; jj < BC; jj++) { a = fma(s[jj], f32(v[vr[jj] + c]), a); }
      acc[c] = a;
    }
  }

  if (row_raw < p.lq) {
    let inv = 1.0 / l;
    let o_base = p.o_off + b * p.o_bs + h * p.o_hs + row * p.o_rs;
    for (var c = 0u; c < DV; c++) { o[o_base + c] = OT(acc[c] * inv); }
    lse[(b * p.heads + h) * p.lq + row] = (m + log2(l)) * LN2;
  }
}
