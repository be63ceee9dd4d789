// Down-scale then up-scale back, fused: each image n is resized bilinearly to (dh, dw) = sizes[n] and back to
// (H, W) in one pass, so images of one batch can use different factors without an intermediate tensor. Both
// resizes follow torch's F.interpolate(mode='bilinear', align_corners=False) (no antialiasing: down-scaling
// aliases, which is part of the degradation).

// Same layout as blur.wgsl's Params (k unused here), so degrade.ts fills both alike.
struct Params { n: u32, c: u32, h: u32, w: u32, k: u32, total: u32, src_off: u32, _p0: u32 }

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read> sizes: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

override WG: u32 = 256;

struct Tap { i0: u32, i1: u32, f: f32 }

// Source position of output index `o` when resizing `in_len` samples to `out_len`: half-pixel centres,
// clamped at 0 below and at the last sample above.
fn tap(o: u32, in_len: u32, out_len: u32) -> Tap {
  let s = max((f32(o) + 0.5) * (f32(in_len) / f32(out_len)) - 0.5, 0.0);
  let i0 = min(u32(floor(s)), in_len - 1u);
  return Tap(i0, min(i0 + 1u, in_len - 1u), s - f32(i0));
}

// Sample (i, j) of the down-scaled image: bilinear from the source plane at `base`.
fn down(base: u32, i: u32, j: u32, dh: u32, dw: u32) -> f32 {
  let ty = tap(i, p.h, dh);
  let tx = tap(j, p.w, dw);
  let r0 = base + ty.i0 * p.w;
  let r1 = base + ty.i1 * p.w;
  let top = mix(src[r0 + tx.i0], src[r0 + tx.i1], tx.f);
  let bottom = mix(src[r1 + tx.i0], src[r1 + tx.i1], tx.f);
  return mix(top, bottom, ty.f);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= p.total) { return; }
  let x = t % p.w;
  let y = (t / p.w) % p.h;
  let plane = t / (p.w * p.h);
  let n = plane / p.c;
  let dh = sizes[2u * n];
  let dw = sizes[2u * n + 1u];
  let base = p.src_off + plane * p.h * p.w;
  let ty = tap(y, dh, p.h);
  let tx = tap(x, dw, p.w);
  let top = mix(down(base, ty.i0, tx.i0, dh, dw), down(base, ty.i0, tx.i1, dh, dw), tx.f);
  let bottom = mix(down(base, ty.i1, tx.i0, dh, dw), down(base, ty.i1, tx.i1, dh, dw), tx.f);
  dst[t] = mix(top, bottom, ty.f);
}
