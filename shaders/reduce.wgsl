// Row reduction: input viewed as [rows, inner]; each workgroup reduces one chunk of one row into
// out[row * chunks + chunk]. With chunks > 1 the host runs a second pass over the partials, so a single long row
// (a loss over a whole image) still spreads over many workgroups.
//
// Rows and the elements of a row are read through strides, so reducing over any axes of any view needs no copy:
// the row index walks the kept dimensions (up to KR of them, coalesced), the element index the reduced ones (up
// to RR), both innermost last. A bias gradient (NCHW summed over N, H, W) is rows = C with stride H·W and elements
// (n, hw) with strides (C·H·W, 1). The element order within a row is the logical one, as in a dense copy.

struct Params {
  rows: u32, inner: u32, chunks: u32, offset: u32,
  kshape: vec4<u32>, kstride: vec4<u32>, // kept dimensions (the row index), outermost first, padded with size 1
  rshape: vec4<u32>, rstride: vec4<u32>, // reduced dimensions (the element index)
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

override WG: u32 = 64;
// Dimensions the row and element indices walk (1..4): constant trip counts, so the walks unroll.
override KR: u32 = 1u;
override RR: u32 = 1u;
// 0 = sum, 1 = max, 2 = min
override OP: u32 = 0;

var<workgroup> part: array<f32, WG>;

// ∓inf, not ∓FLT_MAX, so max of a row of -inf is -inf. Vars, not constants: WGSL rejects inf in constant expressions.
fn identity() -> f32 {
  var neg_inf = 0xff800000u;
  var pos_inf = 0x7f800000u;
  if (OP == 1u) { return bitcast<f32>(neg_inf); }
  if (OP == 2u) { return bitcast<f32>(pos_inf); }
  return 0.0;
}

// NaN by its bits: compilers may fold `v != v` to false (lavapipe does), losing NaNs that max/min must keep.
fn is_nan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }

// Element offset of index i walked over the last n of up to four dimensions (outermost first): a row over the
// kept dimensions, an element over the reduced ones.
fn walk(i: u32, shape: vec4<u32>, stride: vec4<u32>, n: u32) -> u32 {
  var r = i;
  var off = 0u;
  for (var d = n; d > 0u; d--) {
    let k = 4u - n + d - 1u;
    off += (r % shape[k]) * stride[k];
    r = r / shape[k];
  }
  return off;
}
fn row_offset(row: u32) -> u32 { return walk(row, p.kshape, p.kstride, KR); }
fn elem_offset(j: u32) -> u32 {
  if (RR == 1u) { return j * p.rstride[3]; }
  return walk(j, p.rshape, p.rstride, RR);
}

fn combine(a: f32, b: f32) -> f32 {
  if (OP == 1u) { return max(a, b); }
  if (OP == 2u) { return min(a, b); }
  return a + b;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let g = wid.x + wid.y * nwg.x;
  if (g >= p.rows * p.chunks) { return; }
  let row = g / p.chunks;
  let chunk = g % p.chunks;
  let len = (p.inner + p.chunks - 1u) / p.chunks;
  let begin = chunk * len;
  let end = min(begin + len, p.inner);
  let base = p.offset + row_offset(row);
  var acc = identity();
  // NaN must survive max/min (as in NumPy), so it is propagated explicitly.
  var saw_nan = false;
  for (var j = begin + lid.x; j < end; j += WG) {
    let v = x[base + elem_offset(j)];
    if (is_nan(v)) { saw_nan = true; }
    acc = combine(acc, v);
  }
  // A var, not a constant: WGSL rejects NaN in constant expressions.
  var nan_bits = 0x7fc00000u;
  if (saw_nan) { acc = bitcast<f32>(nan_bits); }
  part[lid.x] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid.x < s) {
      let a = part[lid.x];
      let b = part[lid.x + s];
      part[lid.x] = select(combine(a, b), a + b, is_nan(a) || is_nan(b));
    }
    workgroupBarrier();
  }
  if (lid.x == 0u) { out[g] = part[0]; }
}

// Short rows (a batch of 2 summed away, per-channel bias gradients of small images): one invocation per row.
// A workgroup of WG invocations on a row of 2 elements would leave 62 of 64 idle, and there can be 10⁴+ rows.
@compute @workgroup_size(WG)
fn per_row(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= p.rows) { return; }
  let base = p.offset + row_offset(row);
  var acc = identity();
  var saw_nan = false;
  for (var j = 0u; j < p.inner; j++) {
    let v = x[base + elem_offset(j)];
    if (is_nan(v)) { saw_nan = true; }
    acc = combine(acc, v);
  }
  var nan_bits = 0x7fc00000u;
  if (saw_nan) { acc = bitcast<f32>(nan_bits); }
  out[row] = acc;
}
