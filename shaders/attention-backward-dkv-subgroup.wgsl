// Attention backward, key side, for 8-lane CPU subgroups (see attention-forward-subgroup.wgsl for why loads are
// shared through subgroupBroadcast). A workgroup is one subgroup owning 8·R key rows; per block of 8 queries,
// lane i loads query i0+i's q and dO rows, logsumexp and D, and every lane reads them by broadcast. With
// P_ij = exp(scale q_i·k_j - lse_i) recomputed blockwise it accumulates
//   dV_j = Σ_i P_ij dO_i,   dK_j = scale Σ_i P_ij (dO_i·v_j - D_i) q_i,
// with D written by attention-backward-dq-subgroup.wgsl (dispatched first).
// As in the forward kernel, loops that load or store run to the runtime bounds dk4/dv4 (rolled, quick to compile)
// and the compute loops to constants (unrolled, arrays in registers). R is 1 here: the backward keeps four
// row-sized arrays per row, and at R = 2 compiling took several times longer for ~20% more speed.

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
const R: u32 = /*R*/4u;
const DK4: u32 = (DK + 3u) / 4u;
const DV4: u32 = (DV + 3u) / 4u;
const LOG2E: f32 = 1.4426950408889634;

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let h = wid.y;
  let b = wid.z;
  let bh = b * p.heads + h;
  let qs = p.scale * LOG2E;
  let q_base = p.q_off + b * p.q_bs + h * p.q_hs;
  let g_base = p.g_off + b * p.g_bs + h * p.g_hs;
  var kr: array<vec4<f32>, R * DK4>;
  var vr: array<vec4<f32>, R * DV4>;
  var ak: array<vec4<f32>, R * DK4>;
  var av: array<vec4<f32>, R * DV4>;
  for (var r = 0u; r < R; r++) {
    let row = min(wid.x * 8u * R + r * 8u + lane, p.lk - 1u);
    let k_base = p.k_off + b * p.k_bs + h * p.k_hs + row * p.k_rs;
    let v_base = p.v_off + b * p.v_bs + h * p.v_hs + row * p.v_rs;
    for (var c = 0u; c < p.dk4; c++) {
      kr[r * DK4 + c] = load_k(k_base, c, DK) * qs;
      ak[r * DK4 + c] = vec4(0.0);
    }
    for (var c = 0u; c < p.dv4; c++) {
      vr[r * DV4 + c] = load_v(v_base, c, DV);
      av[r * DV4 + c] = vec4(0.0);
    }
  }

  for (var i0 = 0u; i0 < p.lq; i0 += 8u) {
    let il = min(i0 + lane, p.lq - 1u);
    var ql: array<vec4<f32>, DK4>;
    var gl: array<vec4<f32>, DV4>;
    for (var c = 0u; c < p.dk4; c++) { ql[c] = load_q(q_base + il * p.q_rs, c, DK); }
    for (var c = 0u; c < p.dv4; c++) { gl[c] = load_go(g_base + il * p.g_rs, c, DV); }
    let lse8 = bcast8s(lse[bh * p.lq + il] * LOG2E);
    let d8 = bcast8s(dd[bh * p.lq + il]);
    var s: array<vec4<f32>, 2 * R>;
    var dp: array<vec4<f32>, 2 * R>;
    for (var i = 0u; i < 2u * R; i++) { s[i] = vec4(0.0); dp[i] = vec4(0.0); }
    for (var c = 0u; c < DK4; c++) {
      let qb = bcast8(ql[c]);
      for (var r = 0u; r < R; r++) {
        let t = dots8(kr[r * DK4 + c], qb);
        s[2u * r] += t[0];
        s[2u * r + 1u] += t[1];
      }
    }
    let valid0 = vec4<u32>(i0) + vec4(0u, 1u, 2u, 3u) < vec4(p.lq);
    let valid1 = vec4<u32>(i0) + vec4(4u, 5u, 6u, 7u) < vec4(p.lq);
    for (var r = 0u; r < R; r++) {
      s[2u * r] = select(vec4(0.0), exp2(s[2u * r] - lse8[0]), valid0);
      s[2u * r + 1u] = select(vec4(0.0), exp2(s[2u * r + 1u] - lse8[1]), valid1);
    }
    for (var c = 0u; c < DV4; c++) {
      let gb = bcast8(gl[c]);
      for (var r = 0u; r < R; r++) {
        av[r * DV4 + c] += wsum8(s[2u * r], s[2u * r + 1u], gb);
        let t = dots8(vr[r * DV4 + c], gb);
        dp[2u * r] += t[0];
        dp[2u * r + 1u] += t[1];
      }
    }
    for (var r = 0u; r < R; r++) {
      dp[2u * r] = s[2u * r] * (dp[2u * r] - d8[0]);
      dp[2u * r + 1u] = s[2u * r + 1u] * (dp[2u * r + 1u] - d8[1]);
    }
    for (var c = 0u; c < DK4; c++) {
      let qb = bcast8(ql[c]);
      for (var r = 0u; r < R; r++) { ak[r * DK4 + c] += wsum8(dp[2u * r], dp[2u * r + 1u], qb); }
    }
  }

  for (var r = 0u; r < R; r++) {
    let row = wid.x * 8u * R + r * 8u + lane;
    if (row < p.lk) {
      let kb = p.dk_off + b * p.dk_bs + h * p.dk_hs + row * p.dk_rs;
      for (var c = 0u; c < p.dk4; c++) {
        let a = ak[r * DK4 + c] * p.scale;
        for (var e = 0u; e < 4u; e++) {
          if (c * 4u + e < DK) { dk[kb + c * 4u + e] = a[e]; }
        }
      }
      let vb = p.dv_off + b * p.dv_bs + h * p.dv_hs + row * p.dv_rs;
      for (var c = 0u; c < p.dv4; c++) {
        let a = av[r * DV4 + c];
        for (var e = 0u; e < 4u; e++) {
          if (c * 4u + e < DV) { dv[vb + c * 4u + e] = a[e]; }
        }
      }
    }
  }
}
