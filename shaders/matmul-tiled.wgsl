// C[b] = A[b] · B[b] with shared-memory tiles, the classic layout for real GPUs: a TS x TS workgroup computes a
// 4TS x 4TS tile of C, each invocation a 4 x 4 block. Every 16-deep step of K, the workgroup loads the A and Bᵀ
// tiles with vec4 loads along K (packed operands, as for the subgroup kernel; strides and offsets in vec4
// units) into workgroup memory stored k-major, so the inner loop reads neighbouring rows/columns.
// Rows and columns of an invocation are interleaved (lid + i·TS): a warp's lanes read consecutive words.
// AT, BT, CT are the storage types (src/ops/wgsl-types.ts makes any of them f16); the tiles and sums are f32.

struct Params {
  M: u32, N: u32, K4: u32, _pad0: u32,
  a_off: u32, a_bs: u32, a_rs: u32, _pad1: u32,
  b_off: u32, b_bs: u32, b_rs: u32, _pad2: u32,
  c_off: u32, res_off: u32, bias_off: u32, rowsum_off: u32,
}

alias AT = f32;
alias BT = f32;
alias CT = f32;

// Epilogues (flags, as in shaders/matmul-subgroup.wgsl): BIAS, RES, ACC, ROWSUM.
@group(0) @binding(#) var<storage, read> a: array<vec4<AT>>;
@group(0) @binding(#) var<storage, read> bt: array<vec4<BT>>;
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

override TS: u32 = 16;
const KQ: u32 = 4u; // vec4s of K per step

var<workgroup> a_tile: array<f32, 16u * 4u * TS>;
var<workgroup> b_tile: array<f32, 16u * 4u * TS>;

@compute @workgroup_size(TS, TS)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let T = 4u * TS;
  let row0 = wid.y * T;
  let col0 = wid.x * T;
  let a_base = p.a_off + wid.z * p.a_bs;
  let b_base = p.b_off + wid.z * p.b_bs;
  var acc: array<vec4<f32>, 4>;
  var rs = vec4<f32>();
  for (var k4 = 0u; k4 < p.K4; k4 += KQ) {
    for (var s = li; s < KQ * T; s += TS * TS) {
      let r = s / KQ;
      let kq = k4 + s % KQ;
      var va = vec4<f32>(0.0);
      var vb = vec4<f32>(0.0);
      if (kq < p.K4) {
        va = vec4<f32>(a[a_base + min(row0 + r, p.M - 1u) * p.a_rs + kq]);
        vb = vec4<f32>(bt[b_base + min(col0 + r, p.N - 1u) * p.b_rs + kq]);
      }
      let t = (s % KQ) * 4u * T + r;
      for (var j = 0u; j < 4u; j++) {
        a_tile[t + j * T] = va[j];
        b_tile[t + j * T] = vb[j];
      }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 4u * KQ; kk++) {
      let ao = kk * T + lid.y;
      let bo = kk * T + lid.x;
      let av = vec4(a_tile[ao], a_tile[ao + TS], a_tile[ao + 2u * TS], a_tile[ao + 3u * TS]);
      let bv = vec4(b_tile[bo], b_tile[bo + TS], b_tile[bo + 2u * TS], b_tile[bo + 3u * TS]);
      for (var i = 0u; i < 4u; i++) { acc[i] = fma(vec4(av[i]), bv, acc[i]); }
//#if ROWSUM
      rs += av;
//#endif
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let row = row0 + lid.y + i * TS;
    if (row >= p.M) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let col = col0 + lid.x + j * TS;
      if (col < p.N) {
        let ci = p.c_off + (wid.z * p.M + row) * p.N + col;
        var y = acc[i][j];
//#if BIAS
        y += bias[p.bias_off + col];
//#endif
//#if RES
        y += f32(res[p.res_off + (wid.z * p.M + row) * p.N + col]);
//#endif
//#if ACC
        y += f32(c[ci]);
//#endif
        c[ci] = CT(y);
      }
    }
//#if ROWSUM
    if (col0 == 0u && lid.x == 0u) {
      let ri = p.rowsum_off + wid.z * p.M + row;
//#if ACC
      rowsum[ri] = rowsum[ri] + rs[i];
//#else
      rowsum[ri] = rs[i];
//#endif
    }
//#endif
  }
}
