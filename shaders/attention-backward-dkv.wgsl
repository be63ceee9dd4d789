// Attention backward, key side (FlashAttention-2 split), portable version (see the -subgroup kernel for CPUs):
// one invocation per key row j streams over the queries in blocks, recomputing P_ij = exp(scale q_i·k_j - lse_i)
// from the saved logsumexp, and accumulates
//   dV_j = Σ_i P_ij dO_i,   dK_j = scale Σ_i P_ij (dO_i·v_j - D_i) q_i,
// with D_i = dO_i·O_i written by attention-backward-dq.wgsl (dispatched first). Q, dO, lse and D are read with
// workgroup-uniform addresses (cache broadcasts on GPUs). DK, DV, BC are spliced in by src/ops/attention-backward.ts.

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> lse: array<f32>;
@group(0) @binding(4) var<storage, read> go: array<f32>;
@group(0) @binding(5) var<storage, read> dd: array<f32>;
@group(0) @binding(6) var<storage, read_write> dk: array<f32>;
@group(0) @binding(7) var<storage, read_write> dv: array<f32>;
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
  let row = min(row_raw, p.lk - 1u);
  let bh = b * p.heads + h;
  let k_row = p.k_off + b * p.k_bs + h * p.k_hs + row * p.k_rs;
  let v_row = p.v_off + b * p.v_bs + h * p.v_hs + row * p.v_rs;
  let q_base = p.q_off + b * p.q_bs + h * p.q_hs;
  let g_base = p.g_off + b * p.g_bs + h * p.g_hs;
  let qs = p.scale * LOG2E;

  var kr: array<f32, DK>;
  for (var c = 0u; c < DK; c++) { kr[c] = k[k_row + c] * qs; }
  var vr: array<f32, DV>;
  for (var c = 0u; c < DV; c++) { vr[c] = v[v_row + c]; }
  var ak: array<f32, DK>;
  for (var c = 0u; c < DK; c++) { ak[c] = 0.0; }
  var av: array<f32, DV>;
  for (var c = 0u; c < DV; c++) { av[c] = 0.0; }

  for (var i0 = 0u; i0 < p.lq; i0 += BC) {
    var s: array<f32, BC>;
    var dp: array<f32, BC>;
    var qi: array<u32, BC>;
    var gi: array<u32, BC>;
    for (var ii = 0u; ii < BC; ii++) {
      s[ii] = 0.0;
      dp[ii] = 0.0;
      let i = min(i0 + ii, p.lq - 1u);
      qi[ii] = q_base + i * p.q_rs;
      gi[ii] = g_base + i * p.g_rs;
    }
    for (var c = 0u; c < DK; c++) {
      let kc = kr[c];
      for (var ii = 0u; ii < BC; ii++) { s[ii] = fma(kc, q[qi[ii] + c], s[ii]); }
    }
    for (var c = 0u; c < DV; c++) {
      let vc = vr[c];
      for (var ii = 0u; ii < BC; ii++) { dp[ii] = fma(vc, go[gi[ii] + c], dp[ii]); }
    }
    var pr: array<f32, BC>;
    for (var ii = 0u; ii < BC; ii++) {
      let i = min(i0 + ii, p.lq - 1u);
      pr[ii] = select(0.0, exp2(s[ii] - lse[bh * p.lq + i] * LOG2E), i0 + ii < p.lq);
      s[ii] = pr[ii] * (dp[ii] - dd[bh * p.lq + i]);
    }
    for (var c = 0u; c < DV; c++) {
      var a = av[c];
      for (var ii = 0u; ii < BC; ii++) { a = fma(pr[ii], go[gi[ii] + c], a); }
      av[c] = a;
    }
    for (var c = 0u; c < DK; c++) {
      var a = ak[c];
      for (var ii = 0u; ii < BC; ii++) { a = fma(s[ii], q[qi[ii] + c], a); }
      ak[c] = a;
    }
  }

  if (row_raw < p.lk) {
    let kb = p.dk_off + b * p.dk_bs + h * p.dk_hs + row * p.dk_rs;
    for (var c = 0u; c < DK; c++) { dk[kb + c] = ak[c] * p.scale; }
    let vb = p.dv_off + b * p.dv_bs + h * p.dv_hs + row * p.dv_rs;
    for (var c = 0u; c < DV; c++) { dv[vb + c] = av[c]; }
  }
}
