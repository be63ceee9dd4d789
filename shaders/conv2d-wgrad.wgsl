// Weight gradient of the convolution as an implicit GEMM reducing over output pixels:
//   dW[co, k] = Σ_pixels dY[pixel, co] · X[pixel, k]       k = (ky, kx, ci) within the group
// Same subgroup scheme as shaders/conv2d-igemm.wgsl, with k in the role of the pixels there: a workgroup owns
// 8·NR vec4 steps of k (each 4 input channels at one tap, so 32·NR values of k) by 32 output channels. Per output
// pixel each lane loads one vec4 of the packed input (its k step) and one vec4 of dY (its 4 consecutive output
// channels, from the channels-last pack), the k vec4s are shared by broadcast, and every lane accumulates the
// outer product. The pixel loop can be split across workgroups (wid.z); the splits' partial sums are added by
// the caller. XT and GT are the packed input's and packed dY's storage types (src/ops/wgsl-types.ts makes either
// f16); they are widened as they are loaded, and the sums and partial results are f32.
// With BIAS (src/ops/wgsl-flags.ts; unsplit pixel reductions only) the first k tile's workgroups also sum dY over
// the pixels, the bias gradient, from the dY vec4s they load anyway. ACC adds both results to what dw and db hold.

enable subgroups;

struct Params {
  Hp: u32, Wp: u32, C4q: u32,  // packed input (per group)
  KH: u32, KW: u32, sy: u32, sx: u32, dy: u32, dx: u32,
  G: u32,
  Ho: u32, Wo: u32,            // output rows of this chunk, output width
  Nc: u32,                     // samples in this chunk
  CoP: u32,                    // channel stride of the packed dY (multiple of 32)
  CoutG: u32, CinG: u32,
  splits: u32, rows_per_split: u32,
  out_off: u32,                // element offset of this chunk's partial sums
  _pad: u32,
}

alias XT = f32;
alias GT = f32;

@group(0) @binding(#) var<storage, read> xh: array<vec4<XT>>;
@group(0) @binding(#) var<storage, read> gt: array<vec4<GT>>;
@group(0) @binding(#) var<storage, read_write> dw: array<f32>;
//#if BIAS
@group(0) @binding(#) var<storage, read_write> db: array<f32>;
//#endif
@group(0) @binding(#) var<uniform> p: Params;

const NR: u32 = /*NR*/1u;
alias Acc = array<vec4<f32>, 32u * NR>;

// Row e of k step kv (4 input channels, broadcast) times the lane's 4 output-channel gradients g.
fn fma_step(acc: ptr<function, Acc>, r: u32, s: vec4<f32>, g: vec4<f32>) {
  (*acc)[r] = fma(vec4(s.x), g, (*acc)[r]);
  (*acc)[r + 1u] = fma(vec4(s.y), g, (*acc)[r + 1u]);
  (*acc)[r + 2u] = fma(vec4(s.z), g, (*acc)[r + 2u]);
  (*acc)[r + 3u] = fma(vec4(s.w), g, (*acc)[r + 3u]);
}

fn fma_group(acc: ptr<function, Acc>, r0: u32, xv: vec4<f32>, g: vec4<f32>) {
  fma_step(acc, r0, subgroupBroadcast(xv, 0u), g);
  fma_step(acc, r0 + 4u, subgroupBroadcast(xv, 1u), g);
  fma_step(acc, r0 + 8u, subgroupBroadcast(xv, 2u), g);
  fma_step(acc, r0 + 12u, subgroupBroadcast(xv, 3u), g);
  fma_step(acc, r0 + 16u, subgroupBroadcast(xv, 4u), g);
  fma_step(acc, r0 + 20u, subgroupBroadcast(xv, 5u), g);
  fma_step(acc, r0 + 24u, subgroupBroadcast(xv, 6u), g);
  fma_step(acc, r0 + 28u, subgroupBroadcast(xv, 7u), g);
}

// One k value (input channel ci at `tap`) for the lane's 4 output channels co..co+3.
fn store_k(v: vec4<f32>, ci: u32, tap: u32, out_base: u32, co: u32) {
  if (ci >= p.CinG) { return; }
  let taps = p.KH * p.KW;
  for (var j = 0u; j < 4u; j++) {
    if (co + j < p.CoutG) {
      let i = out_base + ((co + j) * p.CinG + ci) * taps + tap;
//#if ACC
      dw[i] = dw[i] + v[j];
//#else
      dw[i] = v[j];
//#endif
    }
  }
}

// The 4 k values of step `kv` (accumulator rows r..r+3). Calls, not loops, keep every acc index constant.
fn store_step(acc: ptr<function, Acc>, r: u32, kv: u32, out_base: u32, co: u32) {
  if (kv >= p.KH * p.KW * p.C4q) { return; }
  let tap = kv / p.C4q;
  let ci = (kv - tap * p.C4q) * 4u;
  store_k((*acc)[r], ci, tap, out_base, co);
  store_k((*acc)[r + 1u], ci + 1u, tap, out_base, co);
  store_k((*acc)[r + 2u], ci + 2u, tap, out_base, co);
  store_k((*acc)[r + 3u], ci + 3u, tap, out_base, co);
}

fn store_group(acc: ptr<function, Acc>, r0: u32, kv0: u32, out_base: u32, co: u32) {
  store_step(acc, r0, kv0, out_base, co);
  store_step(acc, r0 + 4u, kv0 + 1u, out_base, co);
  store_step(acc, r0 + 8u, kv0 + 2u, out_base, co);
  store_step(acc, r0 + 12u, kv0 + 3u, out_base, co);
  store_step(acc, r0 + 16u, kv0 + 4u, out_base, co);
  store_step(acc, r0 + 20u, kv0 + 5u, out_base, co);
  store_step(acc, r0 + 24u, kv0 + 6u, out_base, co);
  store_step(acc, r0 + 28u, kv0 + 7u, out_base, co);
}

fn k_offset(kv: u32) -> u32 {
  let k4n = p.KH * p.KW * p.C4q;
  let k = min(kv, k4n - 1u);
  let tap = k / p.C4q;
  let c4 = k - tap * p.C4q;
  let ky = tap / p.KW;
  let kx = tap - ky * p.KW;
  return (ky * p.dy * p.Wp + kx * p.dx) * p.C4q + c4;
}

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let g = wid.z / p.splits;
  let split = wid.z % p.splits;
  let kv0 = wid.x * 8u * NR;
  let co0 = wid.y * 32u;
  var ko: array<u32, 4>;
  for (var i = 0u; i < NR; i++) { ko[i] = k_offset(kv0 + 8u * i + lane); }
  let q4 = p.CoP / 4u;

  var acc: Acc;
  var bsum = vec4<f32>(0.0);
  let r_begin = split * p.rows_per_split;
  let r_end = min(r_begin + p.rows_per_split, p.Nc * p.Ho);
  for (var nr = r_begin; nr < r_end; nr++) {
    let nl = nr / p.Ho;
    let oy = nr - nl * p.Ho;
    var xb = (((nl * p.G + g) * p.Hp + oy * p.sy) * p.Wp) * p.C4q;
    var gb = ((g * p.Nc + nl) * p.Ho + oy) * p.Wo * q4 + co0 / 4u + lane;
    for (var ox = 0u; ox < p.Wo; ox++) {
      let gv = vec4<f32>(gt[gb]);
      gb += q4;
//#if BIAS
      bsum += gv;
//#endif
      fma_group(&acc, 0u, vec4<f32>(xh[xb + ko[0]]), gv);
      if (NR > 1u) { fma_group(&acc, 32u, vec4<f32>(xh[xb + ko[1]]), gv); }
      xb += p.sx * p.C4q;
    }
  }

  let out_base = p.out_off + (split * p.G + g) * p.CoutG * p.CinG * p.KH * p.KW;
  let co = co0 + lane * 4u;
  store_group(&acc, 0u, kv0, out_base, co);
  if (NR > 1u) { store_group(&acc, 32u, kv0 + 8u, out_base, co); }
//#if BIAS
  if (wid.x == 0u) {
    for (var j = 0u; j < 4u; j++) {
      if (co + j < p.CoutG) {
        let i = g * p.CoutG + co + j;
//#if ACC
        db[i] = db[i] + bsum[j];
//#else
        db[i] = bsum[j];
//#endif
      }
    }
  }
//#endif
}

// The split pixel reduction's partial sums: out[i] = Σ_s part[s·n + i].
struct SumParams { n: u32, splits: u32, _p0: u32, _p1: u32 }
@group(0) @binding(0) var<storage, read> part: array<f32>;
@group(0) @binding(1) var<storage, read_write> total: array<f32>;
@group(0) @binding(2) var<uniform> ps: SumParams;

@compute @workgroup_size(64)
fn sum_partials(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= ps.n) { return; }
  var s = 0.0;
  for (var k = 0u; k < ps.splits; k++) { s += part[k * ps.n + i]; }
  total[i] = s;
}
