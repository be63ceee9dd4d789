// Batched C[b] = A[b] · B[b] with arbitrary strides for A and B (so transposed views need no copy) and a dense C.
// Register blocking: each invocation accumulates a TM x TN block held in registers; no shared memory, which is
// what lavapipe runs fastest. TM/TN are spliced in by src/ops/matmul.ts (function-scope arrays need constant
// sizes); the workgroup shape is an override. Rows and columns are interleaved across invocations
// (row = base + lid.y + i * WY) so neighbouring invocations read neighbouring addresses on real GPUs.
// AT, BT, CT are the storage types (src/ops/wgsl-types.ts makes any of them f16); products accumulate in f32.
// Epilogues (flags, as in shaders/matmul-subgroup.wgsl): BIAS adds bias[col], RES a residual of C's layout, ACC
// what C holds; ROWSUM writes Σ_k A[row, k] (invocations of the first column tile).

struct Params {
  M: u32, N: u32, K: u32, _pad: u32,
  a_off: u32, a_bs: u32, a_rs: u32, a_cs: u32,
  b_off: u32, b_bs: u32, b_rs: u32, b_cs: u32,
  c_off: u32, res_off: u32, bias_off: u32, rowsum_off: u32,
}

alias AT = f32;
alias BT = f32;
alias CT = f32;

@group(0) @binding(#) var<storage, read> a: array<AT>;
@group(0) @binding(#) var<storage, read> b: array<BT>;
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
  var rs: array<f32, TM>;
  for (var k = 0u; k < p.K; k++) {
    var av: array<f32, TM>;
    var bv: array<f32, TN>;
    for (var i = 0u; i < TM; i++) { av[i] = f32(a[a_row[i] + k * p.a_cs]); }
//#if ROWSUM
    for (var i = 0u; i < TM; i++) { rs[i] += av[i]; }
//#endif
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
      if (col < p.N) {
        let ci = p.c_off + c_base + r * p.N + col;
        var y = acc[i * TN + j];
//#if BIAS
        y += bias[p.bias_off + col];
//#endif
//#if RES
        y += f32(res[p.res_off + c_base + r * p.N + col]);
//#endif
//#if ACC
        y += f32(c[ci]);
//#endif
        c[ci] = CT(y);
      }
    }
//#if ROWSUM
    if (col_base == 0u) {
      let ri = p.rowsum_off + batch * p.M + r;
//#if ACC
      rowsum[ri] = rowsum[ri] + rs[i];
//#else
      rowsum[ri] = rs[i];
//#endif
    }
//#endif
  }
}
