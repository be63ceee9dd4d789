// Nearest-neighbour upsampling and average pooling of NCHW planes, forward and backward. One invocation per
// output element (the backward passes: per input element, gathering, so no atomics are needed).
//   upsample:  y[p, oy, ox] = x[p, oy / sh, ox / sw]              (integer scale factors sh, sw)
//   avgpool:   y[p, oy, ox] = Σ_window x / (kh·kw)                 (window at oy·sh − ph, zero padding counted,
//                                                                    as PyTorch's count_include_pad=True)

struct Params {
  total: u32,          // elements written by this dispatch
  H: u32, W: u32,      // input plane
  OH: u32, OW: u32,    // output plane
  kh: u32, kw: u32,    // pooling window (upsample: unused)
  sh: u32, sw: u32,    // stride (pooling) or scale factor (upsample)
  ph: u32, pw: u32,    // pooling padding
  x_off: u32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

override WG: u32 = 64;

fn flat_id(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

@compute @workgroup_size(WG)
fn upsample_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= p.total) { return; }
  let ox = i % p.OW;
  let oy = (i / p.OW) % p.OH;
  let plane = i / (p.OW * p.OH);
  dst[i] = src[p.x_off + (plane * p.H + oy / p.sh) * p.W + ox / p.sw];
}

// dx[p, y, x] = Σ of the sh x sw block of dy it was copied to.
@compute @workgroup_size(WG)
fn upsample_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= p.total) { return; }
  let x = i % p.W;
  let y = (i / p.W) % p.H;
  let plane = i / (p.W * p.H);
  var s = 0.0;
  for (var a = 0u; a < p.sh; a++) {
    let row = p.x_off + (plane * p.OH + y * p.sh + a) * p.OW + x * p.sw;
    for (var b = 0u; b < p.sw; b++) { s += src[row + b]; }
  }
  dst[i] = s;
}

@compute @workgroup_size(WG)
fn avgpool_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= p.total) { return; }
  let ox = i % p.OW;
  let oy = (i / p.OW) % p.OH;
  let plane = i / (p.OW * p.OH);
  let y0 = i32(oy * p.sh) - i32(p.ph);
  let x0 = i32(ox * p.sw) - i32(p.pw);
  var s = 0.0;
  for (var a = 0u; a < p.kh; a++) {
    let y = y0 + i32(a);
    if (y < 0 || y >= i32(p.H)) { continue; }
    for (var b = 0u; b < p.kw; b++) {
      let x = x0 + i32(b);
      if (x >= 0 && x < i32(p.W)) { s += src[p.x_off + (plane * p.H + u32(y)) * p.W + u32(x)]; }
    }
  }
  dst[i] = s / f32(p.kh * p.kw);
}

// dx[p, y, x] = Σ over the windows that contain (y, x) of dy / (kh·kw).
@compute @workgroup_size(WG)
fn avgpool_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= p.total) { return; }
  let x = i % p.W;
  let y = (i / p.W) % p.H;
  let plane = i / (p.W * p.H);
  // Window oy covers rows oy·sh − ph .. oy·sh − ph + kh − 1.
  let ty = i32(y + p.ph);
  let tx = i32(x + p.pw);
  let oy_lo = max(0, (ty - i32(p.kh) + i32(p.sh)) / i32(p.sh));
  let oy_hi = min(i32(p.OH) - 1, ty / i32(p.sh));
  let ox_lo = max(0, (tx - i32(p.kw) + i32(p.sw)) / i32(p.sw));
  let ox_hi = min(i32(p.OW) - 1, tx / i32(p.sw));
  var s = 0.0;
  for (var oy = oy_lo; oy <= oy_hi; oy++) {
    for (var ox = ox_lo; ox <= ox_hi; ox++) { s += src[p.x_off + (plane * p.OH + u32(oy)) * p.OW + u32(ox)]; }
  }
  dst[i] = s / f32(p.kh * p.kw);
}
