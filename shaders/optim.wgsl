// Fused optimizer updates, in place, one element per invocation. One dispatch updates a whole parameter:
// the unfused composite (about ten elementwise kernels per parameter) would read and write each buffer ~10x.

struct Params {
  n: u32, _p0: u32, _p1: u32, _p2: u32,
  lr: f32, beta1: f32, beta2: f32, eps: f32,
  weight_decay: f32, bias_c1: f32, bias_c2: f32, momentum: f32,
  grad_scale: f32, dampening: f32, _f0: f32, _f1: f32,
}

@group(0) @binding(0) var<storage, read_write> param: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

override WG: u32 = 256;

fn index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 { return gid.x + gid.y * nwg.x * WG; }

// AdamW (Loshchilov & Hutter): decoupled weight decay, bias-corrected moments; as torch.optim.AdamW.
@compute @workgroup_size(WG)
fn adamw(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let g = grad[i] * p.grad_scale;
  var w = param[i] * (1.0 - p.lr * p.weight_decay);
  let mi = p.beta1 * m[i] + (1.0 - p.beta1) * g;
  let vi = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
  m[i] = mi;
  v[i] = vi;
  let mhat = mi / p.bias_c1;
  let vhat = vi / p.bias_c2;
  param[i] = w - p.lr * mhat / (sqrt(vhat) + p.eps);
}

// SGD with momentum and (coupled) weight decay, as torch.optim.SGD; `v` is unused but bound for one layout.
@compute @workgroup_size(WG)
fn sgd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let g = grad[i] * p.grad_scale + p.weight_decay * param[i];
  var step = g;
  if (p.momentum != 0.0) {
    let buf = select(p.momentum * m[i] + (1.0 - p.dampening) * g, g, p.bias_c1 == 0.0);
    m[i] = buf;
    step = buf;
  }
  param[i] = param[i] - p.lr * step;
  if (i == 0u) { v[0] = v[0]; }
}
