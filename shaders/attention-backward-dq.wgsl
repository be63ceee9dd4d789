// Attention backward, query side (FlashAttention-2 split), portable version (see the -subgroup kernel for CPUs):
// one invocation per query row i recomputes its probabilities blockwise from the saved logsumexp,
// P_ij = exp(scale q_i·k_j - lse_i), and accumulates
//   dQ_i = scale Σ_j P_ij (dO_i·v_j - D_i) k_j,   with D_i = dO_i·O_i (= Σ_j P_ij dO_i·v_j),
// writing D_i for the key-side kernel that runs next. K and V are read with workgroup-uniform addresses
// (cache broadcasts on GPUs), as in attention-forward.wgsl. DK, DV, BC are spliced in by src/ops/attention-backward.ts.

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> o: array<f32>;
@group(0) @binding(4) var<storage, read> lse: array<f32>;
@group(0) @binding(5) var<storage, read> go: array<f32>;
@group(0) @binding(6) var<storage, read_write> dq: array<f32>;
@group(0) @binding(7) var<storage, read_write> dd: array<f32>;
@group(0) @binding(8) var<uniform> p: Params;

const DK: u32 = /*DK*/64u;
const DV: u32 = /*DV*/64u;
const BC: u32 = /*BC*/8u;
const LOG2E: f32 = 1.4426950408889634;
override WG: u32 = 8;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let h = wid.y;
  let b = wid.z;
  let row_raw = wid.x * WG + lid.x;
  let row = min(row_raw, p.lq - 1u);
  let bh_row = (b * p.heads + h) * p.lq + row;
  let q_base = p.q_off + b * p.q_bs + h * p.q_hs + row * p.q_rs;
  let g_base = p.g_off + b * p.g_bs + h * p.g_hs + row * p.g_rs;
  let k_base = p.k_off + b * p.k_bs + h * p.k_hs;
  let v_base = p.v_off + b * p.v_bs + h * p.v_hs;
  let qs = p.scale * LOG2E;

  var qr: array<f32, DK>;
  for (var c = 0u; c < DK; c++) { qr[c] = q[q_base + c] * qs; }
  var gr: array<f32, DV>;
  var d = 0.0;
  for (var c = 0u; c < DV; c++) {
    gr[c] = go[g_base + c];
    d = fma(gr[c], o[p.o_off + b * p.o_bs + h * p.o_hs + row * p.o_rs + c], d);
  }
  let lse2 = lse[bh_row] * LOG2E;
  var acc: array<f32, DK>;
  for (var c = 0u; c < DK; c++) { acc[c] = 0.0; }

  for (var j0 = 0u; j0 < p.lk; j0 += BC) {
    var s: array<f32, BC>;
    var dp: array<f32, BC>;
    var kr: array<u32, BC>;
    var vr: array<u32, BC>;
    for (var jj = 0u; jj < BC; jj++) {
      s[jj] = 0.0;
      dp[jj] = 0.0;
      let j = min(j0 + jj, p.lk - 1u);
      kr[jj] = k_base + j * p.k_rs;
      vr[jj] = v_base + j * p.v_rs;
    }
    for (var c = 0u; c < DK; c++) {
      let qc = qr[c];
      for (var jj = 0u; jj < BC; jj++) { s[jj] = fma(qc, k[kr[jj] + c], s[jj]); }
    }
    for (var c = 0u; c < DV; c++) {
      let gc = gr[c];
      for (var jj = 0u; jj < BC; jj++) { dp[jj] = fma(gc, v[vr[jj] + c], dp[jj]); }
    }
    for (var jj = 0u; jj < BC; jj++) {
      let pr = select(0.0, exp2(s[jj] - lse2), j0 + jj < p.lk);
      s[jj] = pr * (dp[jj] - d);
    }
    for (var c = 0u; c < DK; c++) {
      var a = acc[c];
      for (var jj = 0u; jj < BC; jj++) { a = fma(s[jj], k[kr[jj] + c], a); }
      acc[c] = a;
    }
  }

  if (row_raw < p.lq) {
    let out_base = p.dq_off + b * p.dq_bs + h * p.dq_hs + row * p.dq_rs;
    for (var c = 0u; c < DK; c++) { dq[out_base + c] = acc[c] * p.scale; }
    dd[bh_row] = d;
  }
}
