// Fused attention forward for adapters whose subgroups are SIMD lanes of a CPU (lavapipe: 8 lanes), where a
// load costs a bounds-checked scalar access per lane but a subgroupBroadcast is one register shuffle.
// A workgroup is one 8-lane subgroup owning 8·R query rows (R per lane, in registers). For each block of 8 keys,
// lane i loads key j0+i's k and v rows once, and every lane reads them through subgroupBroadcast: each loaded
// element feeds 8·R queries, not one. Online softmax (running max m, sum l, one rescale of the accumulator
// per block) keeps the Lq x Lk score matrix out of memory; the per-row logsumexp is saved for the backward pass.
// Scores are kept in log2 units (q is pre-multiplied by scale·log2(e)) so the softmax uses exp2.
// DK, DV, R are spliced in by src/ops/attention.ts (they size function-scope arrays). Loops with constant bounds
// unroll, so the arrays they index stay in registers (a dynamic index costs a per-lane stack gather on lavapipe).
// Loops that load or store take their bound from the params (dk4, dv4 = ceil(D / 4)) so they stay rolled:
// unrolled, the bounds-checked per-lane loads made this kernel take minutes to compile on lavapipe.

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
const R: u32 = /*R*/4u;
const DK4: u32 = (DK + 3u) / 4u;
const DV4: u32 = (DV + 3u) / 4u;
const LOG2E: f32 = 1.4426950408889634;
const LN2: f32 = 0.6931471805599453;
const NEG_BIG: f32 = -3.4028234e38;

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let h = wid.y;
  let b = wid.z;
  let qs = p.scale * LOG2E;
  let k_base = p.k_off + b * p.k_bs + h * p.k_hs;
  let v_base = p.v_off + b * p.v_bs + h * p.v_hs;
  var qr: array<vec4<f32>, R * DK4>;
  var acc: array<vec4<f32>, R * DV4>;
  var m: array<f32, R>;
  var l: array<f32, R>;
  for (var r = 0u; r < R; r++) {
    // Rows past the end compute on the last row (valid addresses, no divergence) and are not written.
    let row = min(wid.x * 8u * R + r * 8u + lane, p.lq - 1u);
    let q_base = p.q_off + b * p.q_bs + h * p.q_hs + row * p.q_rs;
    for (var c = 0u; c < p.dk4; c++) { qr[r * DK4 + c] = load_q(q_base, c, DK) * qs; }
    for (var c = 0u; c < DV4; c++) { acc[r * DV4 + c] = vec4(0.0); }
    m[r] = NEG_BIG;
    l[r] = 0.0;
  }

  for (var j0 = 0u; j0 < p.lk; j0 += 8u) {
    let jl = min(j0 + lane, p.lk - 1u);
    var kl: array<vec4<f32>, DK4>;
    var vl: array<vec4<f32>, DV4>;
    for (var c = 0u; c < p.dk4; c++) { kl[c] = load_k(k_base + jl * p.k_rs, c, DK); }
    for (var c = 0u; c < p.dv4; c++) { vl[c] = load_v(v_base + jl * p.v_rs, c, DV); }
    // s[2r], s[2r+1]: scores of row r against the block's keys 0..3 and 4..7.
    var s: array<vec4<f32>, 2 * R>;
    for (var i = 0u; i < 2u * R; i++) { s[i] = vec4(0.0); }
    for (var c = 0u; c < DK4; c++) {
      let kb = bcast8(kl[c]);
      for (var r = 0u; r < R; r++) {
        let x = qr[r * DK4 + c];
        s[2u * r] += vec4(dot(x, kb[0]), dot(x, kb[1]), dot(x, kb[2]), dot(x, kb[3]));
        s[2u * r + 1u] += vec4(dot(x, kb[4]), dot(x, kb[5]), dot(x, kb[6]), dot(x, kb[7]));
      }
    }
    let valid0 = vec4<u32>(j0) + vec4(0u, 1u, 2u, 3u) < vec4(p.lk);
    let valid1 = vec4<u32>(j0) + vec4(4u, 5u, 6u, 7u) < vec4(p.lk);
    var alpha: array<f32, R>;
    for (var r = 0u; r < R; r++) {
      let s0 = select(vec4(NEG_BIG), s[2u * r], valid0);
      let s1 = select(vec4(NEG_BIG), s[2u * r + 1u], valid1);
      let mx = max(s0, s1);
      let bm = max(m[r], max(max(mx.x, mx.y), max(mx.z, mx.w)));
      alpha[r] = exp2(m[r] - bm);
      m[r] = bm;
      s[2u * r] = exp2(s0 - vec4(bm));
      s[2u * r + 1u] = exp2(s1 - vec4(bm));
      l[r] = l[r] * alpha[r] + dot(s[2u * r] + s[2u * r + 1u], vec4(1.0));
    }
    for (var c = 0u; c < DV4; c++) {
      let vb = bcast8(vl[c]);
      for (var r = 0u; r < R; r++) {
        let p0 = s[2u * r];
        let p1 = s[2u * r + 1u];
        var a = acc[r * DV4 + c] * alpha[r];
        a += p0.x * vb[0] + p0.y * vb[1] + p0.z * vb[2] + p0.w * vb[3];
        a += p1.x * vb[4] + p1.y * vb[5] + p1.z * vb[6] + p1.w * vb[7];
        acc[r * DV4 + c] = a;
      }
    }
  }

  for (var r = 0u; r < R; r++) {
    let row = wid.x * 8u * R + r * 8u + lane;
    if (row < p.lq) {
      let inv = 1.0 / l[r];
      let o_base = p.o_off + b * p.o_bs + h * p.o_hs + row * p.o_rs;
      for (var c = 0u; c < p.dv4; c++) {
        let a = acc[r * DV4 + c] * inv;
        for (var e = 0u; e < 4u; e++) {
          if (c * 4u + e < DV) { o[o_base + c * 4u + e] = OT(a[e]); }
        }
      }
      lse[(b * p.heads + h) * p.lq + row] = (m[r] + log2(l[r])) * LN2;
    }
  }
}
