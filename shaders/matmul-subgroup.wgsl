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
  M: u32, N: u32, KG: u32, _pad0: u32, // KG: loads along K per row (K4, or K8 when half-packed)
  a_off: u32, a_bs: u32, a_rs: u32, _pad1: u32,
  b_off: u32, b_bs: u32, b_rs: u32, _pad2: u32,
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

@group(0) @binding(0) var<storage, read> a: array<AW>;
@group(0) @binding(1) var<storage, read> bt: array<BW>;
@group(0) @binding(2) var<storage, read_write> c: array<CT>;
@group(0) @binding(3) var<uniform> p: Params;

const NR: u32 = /*NR*/4u; // at most 4 (see the row groups in main)
const ROWS: u32 = 8u * NR;

alias Acc = array<vec4<f32>, ROWS>;

// acc[r] += row r of A (4 consecutive k, broadcast from its lane) times the lane's 4 columns (bk[j] = B[k + j][..]).
fn fma_row(acc: ptr<function, Acc>, r: u32, s: vec4<f32>, bk: mat4x4<f32>) {
  (*acc)[r] = fma(vec4(s.w), bk[3], fma(vec4(s.z), bk[2], fma(vec4(s.y), bk[1], fma(vec4(s.x), bk[0], (*acc)[r]))));
}

// The 8 rows r0..r0+7, whose A vec4s lanes 0..7 loaded into `av`. The lane must be a constant expression.
fn fma_group(acc: ptr<function, Acc>, r0: u32, av: vec4<f32>, bk: mat4x4<f32>) {
  fma_row(acc, r0, subgroupBroadcast(av, 0u), bk);
  fma_row(acc, r0 + 1u, subgroupBroadcast(av, 1u), bk);
  fma_row(acc, r0 + 2u, subgroupBroadcast(av, 2u), bk);
  fma_row(acc, r0 + 3u, subgroupBroadcast(av, 3u), bk);
  fma_row(acc, r0 + 4u, subgroupBroadcast(av, 4u), bk);
  fma_row(acc, r0 + 5u, subgroupBroadcast(av, 5u), bk);
  fma_row(acc, r0 + 6u, subgroupBroadcast(av, 6u), bk);
  fma_row(acc, r0 + 7u, subgroupBroadcast(av, 7u), bk);
}

fn store_row(acc: ptr<function, Acc>, r: u32, row0: u32, c_base: u32, col: u32) {
  let row = row0 + r;
  if (row >= p.M) { return; }
  let v = (*acc)[r];
  for (var j = 0u; j < 4u; j++) {
    if (col + j * 8u < p.N) { c[c_base + row * p.N + col + j * 8u] = CT(v[j]); }
  }
}

// Eight calls rather than a loop over r: the loop, having an early exit, would not be unrolled.
fn store_group(acc: ptr<function, Acc>, r0: u32, row0: u32, c_base: u32, col: u32) {
  store_row(acc, r0, row0, c_base, col);
  store_row(acc, r0 + 1u, row0, c_base, col);
  store_row(acc, r0 + 2u, row0, c_base, col);
  store_row(acc, r0 + 3u, row0, c_base, col);
  store_row(acc, r0 + 4u, row0, c_base, col);
  store_row(acc, r0 + 5u, row0, c_base, col);
  store_row(acc, r0 + 6u, row0, c_base, col);
  store_row(acc, r0 + 7u, row0, c_base, col);
}

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let row0 = wid.y * ROWS;
  let col0 = wid.x * 32u;
  let a_base = p.a_off + wid.z * p.a_bs;
  let b_base = p.b_off + wid.z * p.b_bs;
  // Rows/columns past the edge read a clamped (valid) address; their results are not stored.
  var a_idx: array<u32, 4>;
  for (var i = 0u; i < NR; i++) { a_idx[i] = a_base + min(row0 + i * 8u + lane, p.M - 1u) * p.a_rs; }
  var b_idx: array<u32, 4>;
  for (var j = 0u; j < 4u; j++) { b_idx[j] = b_base + min(col0 + j * 8u + lane, p.N - 1u) * p.b_rs; }

  var acc: Acc;
  for (var k = 0u; k < p.KG; k++) {
    let b0 = bt[b_idx[0] + k];
    let b1 = bt[b_idx[1] + k];
    let b2 = bt[b_idx[2] + k];
    let b3 = bt[b_idx[3] + k];
    var av: array<AW, 4>;
    for (var i = 0u; i < NR; i++) { av[i] = a[a_idx[i] + k]; }
    for (var s = 0u; s < KSUB; s++) {
      let bk = transpose(mat4x4(widen_b(b0, s), widen_b(b1, s), widen_b(b2, s), widen_b(b3, s)));
      fma_group(&acc, 0u, widen_a(av[0], s), bk);
      if (NR > 1u) { fma_group(&acc, 8u, widen_a(av[1], s), bk); }
      if (NR > 2u) { fma_group(&acc, 16u, widen_a(av[2], s), bk); }
      if (NR > 3u) { fma_group(&acc, 24u, widen_a(av[3], s), bk); }
    }
  }

  let col = col0 + lane;
  let c_base = wid.z * p.M * p.N;
  store_group(&acc, 0u, row0, c_base, col);
  if (NR > 1u) { store_group(&acc, 8u, row0, c_base, col); }
  if (NR > 2u) { store_group(&acc, 16u, row0, c_base, col); }
  if (NR > 3u) { store_group(&acc, 24u, row0, c_base, col); }
}
