// Implicit-GEMM convolution for CPU-like adapters (lavapipe): one workgroup is one 8-lane subgroup.
//   out[n, co, pixel] = Σ_k  X[pixel, k] · Wt[k, co]      k = (ky, kx, ci), M = pixels, N = output channels
// X is never materialised: row `pixel`, vec4 step k4 = (tap, c4) is the vec4 xh[pixel's corner + tap offset + c4]
// of the packed channels-last input (shaders/conv2d-pack.wgsl), so the patch gather is one vec4 load.
//
// Why this shape is fast there (measured, see bench/conv2d.ts): lavapipe runs the 8 lanes as one AVX register
// and turns a load whose address differs per lane into a branchy per-lane loop, while subgroupBroadcast with a
// constant lane is one register permute. So each lane loads the input vec4 of ONE pixel and the 8 pixels are
// shared by broadcast; each lane multiplies them with its own 4 output channels co0 + lane + 8j, whose weights
// it reads as four vec4s along k (transposed in registers to one vec4 over j per input channel). One workgroup
// computes ROWS = 8·NR pixels by 32 channels.
//
// Every index into `acc` must be a compile-time constant after inlining, or the accumulators live in memory
// (several times slower): the row groups are explicit calls with constant rows (guarded by `NR > i`, which folds
// away), because a loop over NR with this body is too large for the unroller. One k step per loop iteration is
// deliberate: two steps per iteration (fewer write-backs of the accumulators) measured twice as slow on lavapipe.
//
// The input gradient runs through this same kernel (stride 1 over the zero-inserted, fully padded dY with the
// flipped, transposed kernel), so there is no separate backward-data shader.
//
// XT, WT, OT are the storage types of the packed input, the packed weights and the output (src/ops/wgsl-types.ts
// makes any of them f16): operands are widened as they are loaded, sums and the bias stay f32.

enable subgroups;

struct Params {
  M: u32,          // output pixels of this chunk (rows x Wo)
  Wo: u32,
  Hp: u32, Wp: u32, // packed input height and width
  C4q: u32,        // vec4s per packed pixel (input channels per group / 4, rounded up)
  KH: u32, KW: u32,
  sy: u32, sx: u32, dy: u32, dx: u32,
  G: u32,
  CoP: u32,        // output channels per group in the packed weights (a multiple of 32)
  CoutG: u32,      // real output channels per group
  Cout: u32,       // output channels of the output tensor
  plane: u32,      // Ho * Wo of the output tensor
  pix0: u32,       // first output pixel of this chunk within the plane
  n0: u32,         // first sample of this chunk
  has_bias: u32,
  out_off: u32,
  bias_off: u32,
  // RES: a residual added as the output is stored, read at res_off + n·res_n + channel·res_c + pixel·res_p (a
  // per-sample, per-channel term has res_p = 0: the timestep embedding of a ResNet block).
  res_off: u32, res_n: u32, res_c: u32, res_p: u32,
  _p0: u32, _p1: u32, _p2: u32,
}

alias XT = f32;
alias WT = f32;
alias OT = f32;

// Epilogues (flags, src/ops/wgsl-flags.ts): RES adds the residual above; ACC adds what `out` holds (an input
// gradient summed into the one already collected).
@group(0) @binding(#) var<storage, read> xh: array<vec4<XT>>;
@group(0) @binding(#) var<storage, read> wp: array<vec4<WT>>;
@group(0) @binding(#) var<storage, read> bias: array<f32>;
@group(0) @binding(#) var<storage, read_write> out: array<OT>;
//#if RES
@group(0) @binding(#) var<storage, read> res: array<f32>;
//#endif
@group(0) @binding(#) var<uniform> p: Params;

const NR: u32 = /*NR*/2u; // 1..4 row groups of 8 pixels
const ROWS: u32 = 8u * NR;

alias Acc = array<vec4<f32>, ROWS>;

// acc[r] += pixel r's 4 input channels (s, broadcast from its lane) times the lane's weights (bk[e] = channel e).
fn fma_row(acc: ptr<function, Acc>, r: u32, s: vec4<f32>, bk: mat4x4<f32>) {
  (*acc)[r] = fma(vec4(s.w), bk[3], fma(vec4(s.z), bk[2], fma(vec4(s.y), bk[1], fma(vec4(s.x), bk[0], (*acc)[r]))));
}

fn fma_group(acc: ptr<function, Acc>, r0: u32, xv: vec4<f32>, bk: mat4x4<f32>) {
  fma_row(acc, r0, subgroupBroadcast(xv, 0u), bk);
  fma_row(acc, r0 + 1u, subgroupBroadcast(xv, 1u), bk);
  fma_row(acc, r0 + 2u, subgroupBroadcast(xv, 2u), bk);
  fma_row(acc, r0 + 3u, subgroupBroadcast(xv, 3u), bk);
  fma_row(acc, r0 + 4u, subgroupBroadcast(xv, 4u), bk);
  fma_row(acc, r0 + 5u, subgroupBroadcast(xv, 5u), bk);
  fma_row(acc, r0 + 6u, subgroupBroadcast(xv, 6u), bk);
  fma_row(acc, r0 + 7u, subgroupBroadcast(xv, 7u), bk);
}

fn store_row(acc: ptr<function, Acc>, r: u32, row0: u32, out_base: u32, res_base: u32, c: u32, bv: vec4<f32>) {
  let m = row0 + r;
  if (m >= p.M) { return; }
  let v = (*acc)[r] + bv;
  for (var j = 0u; j < 4u; j++) {
    if (c + 8u * j < p.CoutG) {
      let oi = out_base + (c + 8u * j) * p.plane + m;
      var y = v[j];
//#if RES
      y += res[res_base + (c + 8u * j) * p.res_c + m * p.res_p];
//#endif
//#if ACC
      y += f32(out[oi]);
//#endif
      out[oi] = OT(y);
    }
  }
}

fn store_group(acc: ptr<function, Acc>, r0: u32, row0: u32, out_base: u32, res_base: u32, c: u32, bv: vec4<f32>) {
  store_row(acc, r0, row0, out_base, res_base, c, bv);
  store_row(acc, r0 + 1u, row0, out_base, res_base, c, bv);
  store_row(acc, r0 + 2u, row0, out_base, res_base, c, bv);
  store_row(acc, r0 + 3u, row0, out_base, res_base, c, bv);
  store_row(acc, r0 + 4u, row0, out_base, res_base, c, bv);
  store_row(acc, r0 + 5u, row0, out_base, res_base, c, bv);
  store_row(acc, r0 + 6u, row0, out_base, res_base, c, bv);
  store_row(acc, r0 + 7u, row0, out_base, res_base, c, bv);
}

// Packed-input index (in vec4s) of the top-left tap of output pixel m (clamped: rows past M are not stored).
fn corner(m: u32, img: u32) -> u32 {
  let mm = min(m, p.M - 1u);
  let oy = mm / p.Wo;
  let ox = mm - oy * p.Wo;
  return ((img * p.Hp + oy * p.sy) * p.Wp + ox * p.sx) * p.C4q;
}

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let img = wid.z;                 // (sample in chunk) * G + group
  let g = img % p.G;
  let row0 = wid.x * ROWS;
  let c = wid.y * 32u + lane;      // this lane's channels: c + 8j within the group
  var xi: array<u32, 4>;
  for (var i = 0u; i < NR; i++) { xi[i] = corner(row0 + 8u * i + lane, img); }
  let k4n = p.KH * p.KW * p.C4q;
  var wi = g * k4n * p.CoP + c;

  var acc: Acc;
  for (var ky = 0u; ky < p.KH; ky++) {
    for (var kx = 0u; kx < p.KW; kx++) {
      let tap = (ky * p.dy * p.Wp + kx * p.dx) * p.C4q;
      for (var c4 = 0u; c4 < p.C4q; c4++) {
        let bk = transpose(mat4x4(vec4<f32>(wp[wi]), vec4<f32>(wp[wi + 8u]), vec4<f32>(wp[wi + 16u]), vec4<f32>(wp[wi + 24u])));
        wi += p.CoP;
        let t = tap + c4;
        fma_group(&acc, 0u, vec4<f32>(xh[xi[0] + t]), bk);
        if (NR > 1u) { fma_group(&acc, 8u, vec4<f32>(xh[xi[1] + t]), bk); }
        if (NR > 2u) { fma_group(&acc, 16u, vec4<f32>(xh[xi[2] + t]), bk); }
        if (NR > 3u) { fma_group(&acc, 24u, vec4<f32>(xh[xi[3] + t]), bk); }
      }
    }
  }

  let n = p.n0 + img / p.G;
  var bv = vec4<f32>(0.0);
  if (p.has_bias != 0u) {
    for (var j = 0u; j < 4u; j++) { bv[j] = bias[p.bias_off + g * p.CoutG + min(c + 8u * j, p.CoutG - 1u)]; }
  }
  let out_base = p.out_off + (n * p.Cout + g * p.CoutG) * p.plane + p.pix0;
  let res_base = p.res_off + n * p.res_n + g * p.CoutG * p.res_c + p.pix0 * p.res_p;
  store_group(&acc, 0u, row0, out_base, res_base, c, bv);
  if (NR > 1u) { store_group(&acc, 8u, row0, out_base, res_base, c, bv); }
  if (NR > 2u) { store_group(&acc, 16u, row0, out_base, res_base, c, bv); }
  if (NR > 3u) { store_group(&acc, 24u, row0, out_base, res_base, c, bv); }
}
