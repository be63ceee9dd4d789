// Batched C[b] = A[b] · B[b] with arbitrary strides for A and B (so transposed views need no copy) and a dense C.
// Register blocking: each invocation accumulates a TM x TN block held in registers; no shared memory, which is
// what lavapipe runs fastest. TM/TN are spliced in by src/ops/matmul.ts (function-scope arrays need constant
// sizes); the workgroup shape is an override. Rows and columns are interleaved across invocations
// (row = base + lid.y + i * WY) so neighbouring invocations read neighbouring addresses on real GPUs.
// AT, BT, CT are the storage types (src/ops/wgsl-types.ts makes any of them f16); products accumulate in f32.

struct Params {
  M: u32, N: u32, K: u32, _pad: u32,
  a_off: u32, a_bs: u32, a_rs: u32, a_cs: u32,
  b_off: u32, b_bs: u32, b_rs: u32, b_cs: u32,
}

alias AT = f32;
alias BT = f32;
alias CT = f32;

@group(0) @binding(0) var<storage, read> a: array<AT>;
@group(0) @binding(1) var<storage, read> b: array<BT>;
@group(0) @binding(2) var<storage, read_write> c: array<CT>;
@group(0) @binding(3) var<uniform> p: Params;

const TM: u32 = /*TM*/4u;
const TN: u32 = /*TN*/4u;
override WX: u32 = 8;
override WY: u32 = 8;

@compute @workgroup_size(WX, WY, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let batch = wid.z;
  let row_base = wid.y * WY * TM + lid.y;
  let col_base = wid.x * WX * TN + lid.x;
  let a_base = p.a_off + batch * p.a_bs;
  let b_base = p.b_off + batch * p.b_bs;
  // Out-of-range rows/columns read a clamped (valid) address and are simply not written.
  var a_row: array<u32, TM>;
  for (var i = 0u; i < TM; i++) { a_row[i] = a_base + min(row_base + i * WY, p.M - 1u) * p.a_rs; }
  var b_col: array<u32, TN>;
  for (var j = 0u; j < TN; j++) { b_col[j] = b_base + min(col_base + j * WX, p.N - 1u) * p.b_cs; }
  var acc: array<f32, TM * TN>;
  for (var k = 0u; k < p.K; k++) {
    var av: array<f32, TM>;
    var bv: array<f32, TN>;
    for (var i = 0u; i < TM; i++) { av[i] = f32(a[a_row[i] + k * p.a_cs]); }
    for (var j = 0u; j < TN; j++) { bv[j] = f32(b[b_col[j] + k * p.b_rs]); }
    for (var i = 0u; i < TM; i++) {
      for (var j = 0u; j < TN; j++) { acc[i * TN + j] = fma(av[i], bv[j], acc[i * TN + j]); }
    }
  }
  let c_base = batch * p.M * p.N;
  for (var i = 0u; i < TM; i++) {
    let r = row_base + i * WY;
    if (r >= p.M) { continue; }
    for (var j = 0u; j < TN; j++) {
      let col = col_base + j * WX;
      if (col < p.N) { c[c_base + r * p.N + col] = CT(acc[i * TN + j]); }
    }
  }
}
