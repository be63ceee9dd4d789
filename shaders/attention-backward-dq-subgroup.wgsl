// Attention backward, query side, for 8-lane CPU subgroups (see attention-forward-subgroup.wgsl for why loads
// are shared through subgroupBroadcast). A workgroup is one subgroup owning 8·R query rows; per block of 8 keys,
// lane i loads key j0+i's k and v rows and every lane reads them by broadcast. It recomputes the probabilities
// from the saved logsumexp, P_ij = exp(scale q_i·k_j - lse_i), and accumulates
//   dQ_i = scale Σ_j P_ij (dO_i·v_j - D_i) k_j,   D_i = dO_i·O_i,
// writing D for the key-side kernel (attention-backward-dkv-subgroup.wgsl) that runs next.
// As in the forward kernel, loops that load or store run to the runtime bounds dk4/dv4 (rolled, quick to compile)
// and the compute loops to constants (unrolled, arrays in registers). R is 1 here: the backward keeps four
// row-sized arrays per row, and at R = 2 compiling took several times longer for ~20% more speed.

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
const R: u32 = /*R*/4u;
const DK4: u32 = (DK + 3u) / 4u;
const DV4: u32 = (DV + 3u) / 4u;
const LOG2E: f32 = 1.4426950408889634;

fn load_o(base: u32, c4: u32, d: u32) -> vec4<f32> {
  let c = c4 * 4u;
  return vec4(o[base + c], select(0.0, o[base + min(c + 1u, d - 1u)], c + 1u < d),
              select(0.0, o[base + min(c + 2u, d - 1u)], c + 2u < d), select(0.0, o[base + min(c + 3u, d - 1u)], c + 3u < d));
}

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let h = wid.y;
  let b = wid.z;
  let bh = b * p.heads + h;
  let qs = p.scale * LOG2E;
  let k_base = p.k_off + b * p.k_bs + h * p.k_hs;
  let v_base = p.v_off + b * p.v_bs + h * p.v_hs;
  var qr: array<vec4<f32>, R * DK4>;
  var gr: array<vec4<f32>, R * DV4>;
  var acc: array<vec4<f32>, R * DK4>;
  var lse2: array<f32, R>;
  var drow: array<f32, R>;
  for (var r = 0u; r < R; r++) {
    let row = min(wid.x * 8u * R + r * 8u + lane, p.lq - 1u);
    let q_base = p.q_off + b * p.q_bs + h * p.q_hs + row * p.q_rs;
    let g_base = p.g_off + b * p.g_bs + h * p.g_hs + row * p.g_rs;
    for (var c = 0u; c < p.dk4; c++) {
      qr[r * DK4 + c] = load_q(q_base, c, DK) * qs;
      acc[r * DK4 + c] = vec4(0.0);
    }
    var d = vec4(0.0);
    for (var c = 0u; c < p.dv4; c++) {
      let g = load_go(g_base, c, DV);
      gr[r * DV4 + c] = g;
      d += g * load_o(p.o_off + b * p.o_bs + h * p.o_hs + row * p.o_rs, c, DV);
    }
    drow[r] = d.x + d.y + d.z + d.w;
    lse2[r] = lse[bh * p.lq + row] * LOG2E;
  }

  for (var j0 = 0u; j0 < p.lk; j0 += 8u) {
    let jl = min(j0 + lane, p.lk - 1u);
    var kl: array<vec4<f32>, DK4>;
    var vl: array<vec4<f32>, DV4>;
    for (var c = 0u; c < p.dk4; c++) { kl[c] = load_k(k_base + jl * p.k_rs, c, DK); }
    for (var c = 0u; c < p.dv4; c++) { vl[c] = load_v(v_base + jl * p.v_rs, c, DV); }
    var s: array<vec4<f32>, 2 * R>;
    var dp: array<vec4<f32>, 2 * R>;
    for (var i = 0u; i < 2u * R; i++) { s[i] = vec4(0.0); dp[i] = vec4(0.0); }
    for (var c = 0u; c < DK4; c++) {
      let kb = bcast8(kl[c]);
      for (var r = 0u; r < R; r++) {
        let t = dots8(qr[r * DK4 + c], kb);
        s[2u * r] += t[0];
        s[2u * r + 1u] += t[1];
      }
    }
    for (var c = 0u; c < DV4; c++) {
      let vb = bcast8(vl[c]);
      for (var r = 0u; r < R; r++) {
        let t = dots8(gr[r * DV4 + c], vb);
        dp[2u * r] += t[0];
        dp[2u * r + 1u] += t[1];
      }
    }
    let valid0 = vec4<u32>(j0) + vec4(0u, 1u, 2u, 3u) < vec4(p.lk);
    let valid1 = vec4<u32>(j0) + vec4(4u, 5u, 6u, 7u) < vec4(p.lk);
    for (var r = 0u; r < R; r++) {
      let p0 = select(vec4(0.0), exp2(s[2u * r] - vec4(lse2[r])), valid0);
      let p1 = select(vec4(0.0), exp2(s[2u * r + 1u] - vec4(lse2[r])), valid1);
      s[2u * r] = p0 * (dp[2u * r] - vec4(drow[r]));
      s[2u * r + 1u] = p1 * (dp[2u * r + 1u] - vec4(drow[r]));
    }
    for (var c = 0u; c < DK4; c++) {
      let kb = bcast8(kl[c]);
      for (var r = 0u; r < R; r++) { acc[r * DK4 + c] += wsum8(s[2u * r], s[2u * r + 1u], kb); }
    }
  }

  for (var r = 0u; r < R; r++) {
    let row = wid.x * 8u * R + r * 8u + lane;
    if (row < p.lq) {
      let base = p.dq_off + b * p.dq_bs + h * p.dq_hs + row * p.dq_rs;
      for (var c = 0u; c < p.dk4; c++) {
        let a = acc[r * DK4 + c] * p.scale;
        for (var e = 0u; e < 4u; e++) {
          if (c * 4u + e < DK) { dq[base + c * 4u + e] = a[e]; }
        }
      }
      dd[bh * p.lq + row] = drow[r];
    }
  }
}
