// Mosaic noise synthesizer (MNS): camera-linear RGB [N,3,H,W] -> noisy mosaic [N,1,H,W] in one pass.
// Pixel t of the flat [N,H,W] mosaic takes the colour of its CFA site (pattern code per image, as bayer.wgsl),
// then y = x + sqrt(shot * x + read) * z with z the t-th standard normal of the (seed, stream) Philox draw, the
// very value randn() gives for that element (same counter layout: block t/4, word t%4, Box-Muller).
// Optionally quantised like an ADC: q = clamp(floor(black + y * (white - black) + 0.5), 0, white), returned
// normalised as (q - black) / (white - black), so values below black (read noise in the dark) stay negative.
// Needs philox-lib.wgsl prepended.

struct Params {
  n: u32, h: u32, w: u32, total: u32,
  src_off: u32, key0: u32, key1: u32, stream: u32,
  quantize: u32, black: f32, range: f32, inv_range: f32,
  white: f32, _p0: u32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
// Per image: pattern code, bitcast<u32>(shot variance), bitcast<u32>(read variance), unused.
@group(0) @binding(1) var<storage, read> img: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let block = gid.x + gid.y * nwg.x * WG;
  let first = block * 4u;
  if (first >= p.total) { return; }
  let z = box_muller(philox(vec4<u32>(block, p.stream, 0u, 0u), vec2<u32>(p.key0, p.key1)));
  for (var j = 0u; j < 4u; j++) {
    let t = first + j;
    if (t >= p.total) { break; }
    let x = t % p.w;
    let y = (t / p.w) % p.h;
    let n = t / (p.w * p.h);
    let code = img[4u * n];
    let shot = bitcast<f32>(img[4u * n + 1u]);
    let read = bitcast<f32>(img[4u * n + 2u]);
    let c = (code >> (2u * (((y & 1u) << 1u) | (x & 1u)))) & 3u;
    let v = src[p.src_off + ((n * 3u + c) * p.h + y) * p.w + x];
    var out = v + sqrt(max(shot * v + read, 0.0)) * z[j];
    if (p.quantize != 0u) {
      let q = clamp(floor(p.black + out * p.range + 0.5), 0.0, p.white);
      out = (q - p.black) * p.inv_range;
    }
    dst[t] = out;
  }
}
