// C[b] = A[b] · B[b] for CPU-like adapters (lavapipe): one workgroup is one 8-lane subgroup.
//
// Why it is fast there: lavapipe runs the 8 lanes of a subgroup as the 8 lanes of one AVX register. A load whose
// address differs per lane becomes a gather, while subgroupBroadcast with a constant lane is one register
// permute. So each lane loads a different row of A (one vec4 along K) and the 8 rows are shared by broadcast;
// every lane then multiplies them with its own 4 columns of B, read as vec4s along K from Bᵀ (N x K).
// The workgroup computes ROWS = 8·NR rows by 32 columns; a lane owns columns col0 + lane + 8j (j < 4),
// interleaved so that on real GPUs neighbouring lanes touch neighbouring addresses.
//
// Operands come packed by src/ops/matmul-kernels.ts: rows along K of KG loads each (vec4s, zero-padded to
// K4 = ceil(K / 4); half-packed, groups of 8 halves, K8 = ceil(K / 8)), strides and offsets in load units. NR (1..4) sizes a function-scope array, so it is spliced into the source rather than
// an override constant.
//
// Two more operand layouts read transposed views in place, with no packing copy (flags, src/ops/wgsl-flags.ts):
// - A_T: A stored with rows contiguous (A[m, k] at k·a_ks + m, e.g. the gradient Gᵀ of a weight gradient): lane l
//   loads the vec4 of rows 4(l & 1)..+3 of its group of 8 at k + (l >> 1); a broadcast then gives 4 rows at one k,
//   so the 32 multiply-adds of a group and 4 k still take 8 broadcasts.
// - B_N: B stored with columns contiguous (B[k, n] at k·b_ks + n, e.g. a Linear weight read as Wᵀ): the lane owns
//   4 adjacent columns col0 + 4·lane + j and loads them as one vec4 per k, already the register layout.
// Epilogues, also flags: BIAS adds bias[col]; RES adds a residual of C's layout; ACC adds what C holds (gradient
// accumulation); ROWSUM writes Σ_k A[row, k] to `rowsum` from the workgroups of the first column tile (a Linear
// bias gradient, Σ over tokens of G, comes with the weight gradient Gᵀ·X).
//
// Every index into `acc` must be a compile-time constant after inlining, or the compiler keeps the whole
// accumulator array in memory (several times slower on lavapipe). So row groups are explicit calls with constant
// row numbers (guarded by `NR > i`, which folds away) instead of a loop over NR, whose body is too large for the
// unroller; the remaining loops are short and get unrolled.
//
// AT, BT, CT are the storage types (src/ops/wgsl-types.ts makes any of them f16): operands are widened to f32 as
// they are loaded and every product accumulates in f32.
//
// Half-packed variant (both operands f16; src/ops/matmul-kernels.ts swaps the AW/BW aliases and the widen bodies
// and sets KSUB = 2): a load is a vec4<u32> holding 8 halves along K instead of a vec4 of 4 values. On lavapipe a
// lane's load from its own row is a gather of 32-bit words, and x86 has no 16-bit gather, so vec4<f16> loads saved
// little over f32; reading words and unpacking them moves 8 values of K per 4-word gather, half the gathers per
// FMA of the f32 kernel.

enable subgroups;

struct Params {
  M: u32, N: u32, KG: u32, K: u32, // KG: loads along K per row (K4, or K8 when half-packed)
  a_off: u32, a_bs: u32, a_rs: u32, _pad1: u32, // a_rs: the row stride (packed) or the k stride (A_T), in vec4s
  b_off: u32, b_bs: u32, b_rs: u32, _pad2: u32, // b_rs: the column stride (packed) or the k stride (B_N), in vec4s
  c_off: u32, res_off: u32, bias_off: u32, rowsum_off: u32,
}

alias AT = f32;
alias BT = f32;
alias CT = f32;

// One load of A or Bᵀ covers KSUB vec4s along K; widen_a/widen_b give the s-th of them as f32.
alias AW = vec4<AT>;
alias BW = vec4<BT>;
const KSUB: u32 = /*KSUB*/1u;
fn widen_a(v: AW, s: u32) -> vec4<f32> { return vec4<f32>(v); }
fn widen_b(v: BW, s: u32) -> vec4<f32> { return vec4<f32>(v); }
// Halves 4s..4s+3 of the 8 packed in a vec4<u32> (little-endian: a word's lower half is the lower k).
fn unpack_halves(v: vec4<u32>, s: u32) -> vec4<f32> {
  let w = select(v.xy, v.zw, s == 1u);
  return vec4(unpack2x16float(w.x), unpack2x16float(w.y));
}

@group(0) @binding(#) var<storage, read> a: array<AW>;
@group(0) @binding(#) var<storage, read> bt: array<BW>;
@group(0) @binding(#) var<storage, read_write> c: array<CT>;
//#if BIAS
@group(0) @binding(#) var<storage, read> bias: array<f32>;
//#endif
//#if RES
@group(0) @binding(#) var<storage, read> res: array<CT>;
//#endif
//#if ROWSUM
@group(0) @binding(#) var<storage, read_write> rowsum: array<f32>;
//#endif
@group(0) @binding(#) var<uniform> p: Params;

const NR: u32 = /*NR*/4u; // at most 4 (see the row groups in main)
const ROWS: u32 = 8u * NR;

alias Acc = array<vec4<f32>, ROWS>;
alias RowSums = array<f32, ROWS>;

// acc[r] += row r of A (4 consecutive k, broadcast from its lane) times the lane's 4 columns (bk[j] = B[k + j][..]).
fn fma_row(acc: ptr<function, Acc>, rs: ptr<function, RowSums>, r: u32, s: vec4<f32>, bk: mat4x4<f32>) {
  (*acc)[r] = fma(vec4(s.w), bk[3], fma(vec4(s.z), bk[2], fma(vec4(s.y), bk[1], fma(vec4(s.x), bk[0], (*acc)[r]))));
//#if ROWSUM
  (*rs)[r] += (s.x + s.y) + (s.z + s.w);
//#endif
}

// The 8 rows r0..r0+7, whose A vec4s lanes 0..7 loaded into `av`. The lane must be a constant expression.
fn fma_group(acc: ptr<function, Acc>, rs: ptr<function, RowSums>, r0: u32, av: vec4<f32>, bk: mat4x4<f32>) {
  fma_row(acc, rs, r0, subgroupBroadcast(av, 0u), bk);
  fma_row(acc, rs, r0 + 1u, subgroupBroadcast(av, 1u), bk);
  fma_row(acc, rs, r0 + 2u, subgroupBroadcast(av, 2u), bk);
  fma_row(acc, rs, r0 + 3u, subgroupBroadcast(av, 3u), bk);
  fma_row(acc, rs, r0 + 4u, subgroupBroadcast(av, 4u), bk);
  fma_row(acc, rs, r0 + 5u, subgroupBroadcast(av, 5u), bk);
  fma_row(acc, rs, r0 + 6u, subgroupBroadcast(av, 6u), bk);
  fma_row(acc, rs, r0 + 7u, subgroupBroadcast(av, 7u), bk);
}

// A_T: lane l loaded rows r0 + 4(l & 1)..+3 at k + (l >> 1); each broadcast adds 4 rows' products at one k.
fn fma_quad(acc: ptr<function, Acc>, rs: ptr<function, RowSums>, r0: u32, v: vec4<f32>, b: vec4<f32>) {
  (*acc)[r0] = fma(vec4(v.x), b, (*acc)[r0]);
  (*acc)[r0 + 1u] = fma(vec4(v.y), b, (*acc)[r0 + 1u]);
  (*acc)[r0 + 2u] = fma(vec4(v.z), b, (*acc)[r0 + 2u]);
  (*acc)[r0 + 3u] = fma(vec4(v.w), b, (*acc)[r0 + 3u]);
//#if ROWSUM
  (*rs)[r0] += v.x;
  (*rs)[r0 + 1u] += v.y;
  (*rs)[r0 + 2u] += v.z;
  (*rs)[r0 + 3u] += v.w;
//#endif
}
fn fma_group_t(acc: ptr<function, Acc>, rs: ptr<function, RowSums>, r0: u32, av: vec4<f32>, bk: mat4x4<f32>) {
  fma_quad(acc, rs, r0, subgroupBroadcast(av, 0u), bk[0]);
  fma_quad(acc, rs, r0 + 4u, subgroupBroadcast(av, 1u), bk[0]);
  fma_quad(acc, rs, r0, subgroupBroadcast(av, 2u), bk[1]);
  fma_quad(acc, rs, r0 + 4u, subgroupBroadcast(av, 3u), bk[1]);
  fma_quad(acc, rs, r0, subgroupBroadcast(av, 4u), bk[2]);
  fma_quad(acc, rs, r0 + 4u, subgroupBroadcast(av, 5u), bk[2]);
  fma_quad(acc, rs, r0, subgroupBroadcast(av, 6u), bk[3]);
  fma_quad(acc, rs, r0 + 4u, subgroupBroadcast(av, 7u), bk[3]);
}

// Column j (0..3) of this lane: interleaved (packed Bᵀ) or adjacent (B_N).
fn lane_col(col0: u32, lane: u32, j: u32) -> u32 {
//#if B_N
  return col0 + 4u * lane + j;
//#else
  return col0 + lane + 8u * j;
//#endif
}

fn store_row(acc: ptr<function, Acc>, rs: ptr<function, RowSums>, r: u32, row0: u32, batch: u32, col0: u32, lane: u32) {
  let row = row0 + r;
  if (row >= p.M) { return; }
  let v = (*acc)[r];
  for (var j = 0u; j < 4u; j++) {
    let col = lane_col(col0, lane, j);
    if (col < p.N) {
      let ci = p.c_off + (batch * p.M + row) * p.N + col;
      var y = v[j];
//#if BIAS
      y += bias[p.bias_off + col];
//#endif
//#if RES
      y += f32(res[p.res_off + (batch * p.M + row) * p.N + col]);
//#endif
//#if ACC
      y += f32(c[ci]);
//#endif
      c[ci] = CT(y);
    }
  }
//#if ROWSUM
  if (col0 == 0u && lane == 0u) {
    let ri = p.rowsum_off + batch * p.M + row;
//#if ACC
    rowsum[ri] = rowsum[ri] + (*rs)[r];
//#else
    rowsum[ri] = (*rs)[r];
//#endif
  }
//#endif
}

// Eight calls rather than a loop over r: the loop, having an early exit, would not be unrolled.
fn store_group(acc: ptr<function, Acc>, rs: ptr<function, RowSums>, r0: u32, row0: u32, batch: u32, col0: u32, lane: u32) {
  store_row(acc, rs, r0, row0, batch, col0, lane);
  store_row(acc, rs, r0 + 1u, row0, batch, col0, lane);
  store_row(acc, rs, r0 + 2u, row0, batch, col0, lane);
  store_row(acc, rs, r0 + 3u, row0, batch, col0, lane);
  store_row(acc, rs, r0 + 4u, row0, batch, col0, lane);
  store_row(acc, rs, r0 + 5u, row0, batch, col0, lane);
  store_row(acc, rs, r0 + 6u, row0, batch, col0, lane);
  store_row(acc, rs, r0 + 7u, row0, batch, col0, lane);
}

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let row0 = wid.y * ROWS;
  let col0 = wid.x * 32u;
  let a_base = p.a_off + wid.z * p.a_bs;
  let b_base = p.b_off + wid.z * p.b_bs;
  // Rows/columns past the edge read a clamped (valid) address; their results are not stored.
  var a_idx: array<u32, 4>;
//#if A_T
  // The first row of this lane's vec4 in each group of 8 (in vec4s), and its k within each step of 4.
  for (var i = 0u; i < NR; i++) { a_idx[i] = a_base + (min(row0 + i * 8u + 4u * (lane & 1u), p.M - 1u) / 4u); }
  let a_k = lane >> 1u;
//#else
  for (var i = 0u; i < NR; i++) { a_idx[i] = a_base + min(row0 + i * 8u + lane, p.M - 1u) * p.a_rs; }
//#endif
//#if B_N
  let b_idx = b_base + min(col0 + 4u * lane, p.N - 1u) / 4u;
//#else
  var b_idx: array<u32, 4>;
  for (var j = 0u; j < 4u; j++) { b_idx[j] = b_base + min(col0 + j * 8u + lane, p.N - 1u) * p.b_rs; }
//#endif

  var acc: Acc;
  var rs: RowSums;
  for (var k = 0u; k < p.KG; k++) {
//#if B_N
    // Rows k..k+3 of B at this lane's 4 columns; rows past K are zero.
    let kb = 4u * k;
    let bk = mat4x4(
      select(vec4<f32>(), widen_b(bt[b_idx + kb * p.b_rs], 0u), kb < p.K),
      select(vec4<f32>(), widen_b(bt[b_idx + (kb + 1u) * p.b_rs], 0u), kb + 1u < p.K),
      select(vec4<f32>(), widen_b(bt[b_idx + (kb + 2u) * p.b_rs], 0u), kb + 2u < p.K),
      select(vec4<f32>(), widen_b(bt[b_idx + (kb + 3u) * p.b_rs], 0u), kb + 3u < p.K));
//#else
    let b0 = bt[b_idx[0] + k];
    let b1 = bt[b_idx[1] + k];
    let b2 = bt[b_idx[2] + k];
    let b3 = bt[b_idx[3] + k];
//#endif
//#if A_T
    let ka = 4u * k + a_k;
    var av: array<vec4<f32>, 4>;
    for (var i = 0u; i < NR; i++) { av[i] = select(vec4<f32>(), widen_a(a[a_idx[i] + ka * p.a_rs], 0u), ka < p.K); }
//#else
    var av: array<AW, 4>;
    for (var i = 0u; i < NR; i++) { av[i] = a[a_idx[i] + k]; }
//#endif
    for (var s = 0u; s < KSUB; s++) {
//#if !B_N
      let bk = transpose(mat4x4(widen_b(b0, s), widen_b(b1, s), widen_b(b2, s), widen_b(b3, s)));
//#endif
//#if A_T
      fma_group_t(&acc, &rs, 0u, av[0], bk);
      if (NR > 1u) { fma_group_t(&acc, &rs, 8u, av[1], bk); }
      if (NR > 2u) { fma_group_t(&acc, &rs, 16u, av[2], bk); }
      if (NR > 3u) { fma_group_t(&acc, &rs, 24u, av[3], bk); }
//#else
      fma_group(&acc, &rs, 0u, widen_a(av[0], s), bk);
      if (NR > 1u) { fma_group(&acc, &rs, 8u, widen_a(av[1], s), bk); }
      if (NR > 2u) { fma_group(&acc, &rs, 16u, widen_a(av[2], s), bk); }
      if (NR > 3u) { fma_group(&acc, &rs, 24u, widen_a(av[3], s), bk); }
//#endif
    }
  }

  store_group(&acc, &rs, 0u, row0, wid.z, col0, lane);
  if (NR > 1u) { store_group(&acc, &rs, 8u, row0, wid.z, col0, lane); }
  if (NR > 2u) { store_group(&acc, &rs, 16u, row0, wid.z, col0, lane); }
  if (NR > 3u) { store_group(&acc, &rs, 24u, row0, wid.z, col0, lane); }
}
