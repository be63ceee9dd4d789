// 2-D filtering of NCHW images with one K x K kernel per image (anisotropic Gaussians are not separable, so
// this is a direct 2-D sum): out(n,c,y,x) = sum_{i,j} k[n][i][j] * in(n, c, y+i-r, x+j-r), r = K/2, with the
// image extended by mirroring (reflect without repeating the edge, as torch's 'reflect' padding).

struct Params { n: u32, c: u32, h: u32, w: u32, k: u32, total: u32, src_off: u32, _p0: u32 }

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read> kern: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

override WG: u32 = 256;

// Reflect any integer index into [0, len): period 2(len-1), so radii larger than the image still work.
fn reflect(i: i32, len: u32) -> u32 {
  if (len == 1u) { return 0u; }
  let period = 2 * i32(len) - 2;
  var m = i % period;
  if (m < 0) { m += period; }
  if (m >= i32(len)) { m = period - m; }
  return u32(m);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= p.total) { return; }
  let x = t % p.w;
  let y = (t / p.w) % p.h;
  let plane = t / (p.w * p.h);
  let n = plane / p.c;
  let r = i32(p.k / 2u);
  let base = p.src_off + plane * p.h * p.w;
  let kbase = n * p.k * p.k;
  var acc = 0.0;
  for (var i = 0u; i < p.k; i++) {
    let row = base + reflect(i32(y) + i32(i) - r, p.h) * p.w;
    for (var j = 0u; j < p.k; j++) {
      acc += kern[kbase + i * p.k + j] * src[row + reflect(i32(x) + i32(j) - r, p.w)];
    }
  }
  dst[t] = acc;
}
