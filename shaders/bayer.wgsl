// Bayer colour-filter-array kernels on dense NCHW float32 tensors. Each image n has its own pattern, given as
// codes[n]: the colours (0 R, 1 G, 2 B) of its 2x2 tile in raster order, 2 bits each (src/raw/bayer-pattern.ts).
// All four maps are linear; each pair is the other's adjoint, which is how the backward rules are built:
//   mosaic           [N,3,H,W] -> [N,1,H,W]   m(y,x) = rgb(colour(y,x), y, x)
//   sparse_rgb       [N,1,H,W] -> [N,3,H,W]   rgb(c,y,x) = m(y,x) where colour(y,x) == c, else 0   (adjoint of mosaic)
//   demosaic         [N,1,H,W] -> [N,3,H,W]   bilinear interpolation of each colour's samples, mirrored edges
//   demosaic_adjoint [N,3,H,W] -> [N,1,H,W]   its transpose (the gradient)

struct Params { n: u32, h: u32, w: u32, total: u32, src_off: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read> codes: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

override WG: u32 = 256;

fn colour(n: u32, y: u32, x: u32) -> u32 {
  return (codes[n] >> (2u * (((y & 1u) << 1u) | (x & 1u)))) & 3u;
}

// Mirror without repeating the edge sample (-1 -> 1, len -> len-2): keeps each index's parity, hence its CFA
// colour, so a mirrored neighbour is always a sample of the colour the 3x3 stencil expects. Needs len >= 2.
fn reflect(i: i32, len: u32) -> u32 {
  if (i < 0) { return u32(-i); }
  if (u32(i) >= len) { return 2u * len - 2u - u32(i); }
  return u32(i);
}

// Bilinear stencils on the sparse plane of colour c: green averages its 4 axial neighbours, red and blue the 2
// axial or 4 diagonal ones; a site of the colour itself keeps its value (weight 1, the other taps hit no sample).
fn stencil(c: u32, dy: i32, dx: i32) -> f32 {
  if (c == 1u) {
    if (dy == 0 && dx == 0) { return 1.0; }
    return select(0.0, 0.25, abs(dy) + abs(dx) == 1);
  }
  return (1.0 - 0.5 * f32(abs(dy))) * (1.0 - 0.5 * f32(abs(dx)));
}

fn flat_id(gid: vec3<u32>, nwg: vec3<u32>) -> u32 { return gid.x + gid.y * nwg.x * WG; }

@compute @workgroup_size(WG)
fn mosaic(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_id(gid, nwg);
  if (t >= p.total) { return; }
  let x = t % p.w;
  let y = (t / p.w) % p.h;
  let n = t / (p.w * p.h);
  let c = colour(n, y, x);
  dst[t] = src[p.src_off + ((n * 3u + c) * p.h + y) * p.w + x];
}

@compute @workgroup_size(WG)
fn sparse_rgb(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_id(gid, nwg);
  if (t >= p.total) { return; }
  let x = t % p.w;
  let y = (t / p.w) % p.h;
  let c = (t / (p.w * p.h)) % 3u;
  let n = t / (p.w * p.h * 3u);
  let v = src[p.src_off + (n * p.h + y) * p.w + x];
  dst[t] = select(0.0, v, colour(n, y, x) == c);
}

@compute @workgroup_size(WG)
fn demosaic(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_id(gid, nwg);
  if (t >= p.total) { return; }
  let x = t % p.w;
  let y = (t / p.w) % p.h;
  let c = (t / (p.w * p.h)) % 3u;
  let n = t / (p.w * p.h * 3u);
  let base = p.src_off + n * p.h * p.w;
  var acc = 0.0;
  for (var dy = -1; dy <= 1; dy++) {
    let yy = reflect(i32(y) + dy, p.h);
    for (var dx = -1; dx <= 1; dx++) {
      let xx = reflect(i32(x) + dx, p.w);
      if (colour(n, yy, xx) == c) { acc += stencil(c, dy, dx) * src[base + yy * p.w + xx]; }
    }
  }
  dst[t] = acc;
}

// Gather form of the transpose: sample (y', x') of colour c' fed every output (c', y, x) whose stencil tap
// (dy, dx) landed on it after mirroring; those outputs lie within one pixel of (y', x').
@compute @workgroup_size(WG)
fn demosaic_adjoint(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_id(gid, nwg);
  if (t >= p.total) { return; }
  let x = t % p.w;
  let y = (t / p.w) % p.h;
  let n = t / (p.w * p.h);
  let c = colour(n, y, x);
  let base = p.src_off + (n * 3u + c) * p.h * p.w;
  var acc = 0.0;
  for (var oy = i32(y) - 1; oy <= i32(y) + 1; oy++) {
    if (oy < 0 || oy >= i32(p.h)) { continue; }
    for (var dy = -1; dy <= 1; dy++) {
      if (reflect(oy + dy, p.h) != y) { continue; }
      for (var ox = i32(x) - 1; ox <= i32(x) + 1; ox++) {
        if (ox < 0 || ox >= i32(p.w)) { continue; }
        for (var dx = -1; dx <= 1; dx++) {
          if (reflect(ox + dx, p.w) != x) { continue; }
          acc += stencil(c, dy, dx) * src[base + u32(oy) * p.w + u32(ox)];
        }
      }
    }
  }
  dst[t] = acc;
}
