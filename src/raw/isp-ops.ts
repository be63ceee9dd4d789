import { record } from '../autograd/graph.js';
import type { Tensor } from '../tensor/tensor.js';
import { shapeStr } from '../tensor/shape.js';
import { runMap } from '../ops/map-kernel.js';
import { matmul } from '../ops/matmul.js';
import { reshape } from '../ops/shape-ops.js';

/**
 * Differentiable building blocks of the post-tone processing (PTP) and its inverse (IPTP): the tone curves, the
 * gamma power, clipping, and a per-image 3×3 colour matrix. Pointwise ones are single fused map kernels (the op
 * table has no asin, and a fused curve is one kernel instead of five).
 */

/** How a clip to [0, 1] passes gradients back. */
export type ClipGradient = 'straight-through' | 'exact';

function pointwise(name: string, x: Tensor, fwd: string, bwd: string, scalars: readonly number[] = []): Tensor {
  const y = runMap(name, ['x'], fwd, [x], x.shape, { scalars });
  return record(name, y, [x], (g, [xs]) => [runMap(`${name}_backward`, ['g', 'x'], bwd, [g, xs], x.shape, { scalars })], [x]);
}

/** Brooks' tone curve, the smoothstep 3x² − 2x³ (for x in [0, 1]). */
export function smoothstep(x: Tensor): Tensor {
  return pointwise('smoothstep', x, 'x * x * (3.0 - 2.0 * x)', 'g * 6.0 * x * (1.0 - x)');
}

/**
 * Inverse of the smoothstep on [0, 1]: 0.5 − sin(asin(1 − 2y) / 3), input clipped to [0, 1] first (asin's domain).
 * WGSL's asin may be far from exact (lavapipe's is off by 4e-4, enough to break PTP(IPTP(y)) = y at 1e-4), so two
 * Newton steps on 3x² − 2x³ = y polish the result to float32 precision. The derivative is 1 / (6x(1 − x)) at
 * the output x: infinite at the ends, where (and outside [0, 1]) the gradient is 0.
 */
export function inverseSmoothstep(y: Tensor): Tensor {
  const x0 = runMap('inverse_smoothstep', ['x'], '0.5 - sin(asin(1.0 - 2.0 * clamp(x, 0.0, 1.0)) / 3.0)', [y], y.shape);
  const newton = 'select(x, x - (x * x * (3.0 - 2.0 * x) - clamp(y, 0.0, 1.0)) / (6.0 * x * (1.0 - x)), x > 0.0 && x < 1.0)';
  const x1 = runMap('smoothstep_newton', ['x', 'y'], newton, [x0, y], y.shape);
  const x = runMap('smoothstep_newton', ['x', 'y'], newton, [x1, y], y.shape);
  x0.dispose();
  x1.dispose();
  return record(
    'inverseSmoothstep',
    x,
    [y],
    (g, [yin, xout]) =>
      [runMap('inverse_smoothstep_backward', ['g', 'yin', 'x'], 'select(0.0, g / (6.0 * x * (1.0 - x)), yin > 0.0 && yin < 1.0 && x > 0.0 && x < 1.0)', [g, yin, xout], y.shape)],
    [y, x],
  );
}

/**
 * max(x, 1e-8)^e, Brooks' gamma (e = 1/2.2 to compress, 2.2 to expand). Below the floor the output is constant,
 * so the gradient there is 0; above it is e·x^(e−1), which for e < 1 grows large near black (≈ 1e4 at 1e-8).
 */
export function gammaPower(x: Tensor, e: number): Tensor {
  return pointwise('gamma_power', x, 'pow(max(x, 1e-8), s0)', 'select(0.0, g * s0 * pow(max(x, 1e-8), s0 - 1.0), x > 1e-8)', [e]);
}

/**
 * Clip to [0, 1]. 'straight-through' passes the gradient unchanged everywhere (identity Jacobian); 'exact' is
 * the true derivative (0 outside [0, 1]). See ptp.ts for why PTP uses straight-through by default.
 */
export function clip01(x: Tensor, grad: ClipGradient = 'exact'): Tensor {
  const y = runMap('clip01', ['x'], 'clamp(x, 0.0, 1.0)', [x], x.shape);
  if (grad === 'straight-through') return record('clip01_st', y, [x], (g) => [g]);
  return record('clip01', y, [x], (g, [xs]) => [runMap('clip01_backward', ['g', 'x'], 'select(0.0, g, x >= 0.0 && x <= 1.0)', [g, xs], x.shape)], [x]);
}

/** out[n, i] = Σ_j M[n, i, j] · x[n, j] for an image batch x [N,3,H,W] and matrices M [N,3,3] (or [1,3,3]). */
export function applyColorMatrix(x: Tensor, m: Tensor): Tensor {
  if (x.ndim !== 4 || x.shape[1] !== 3) throw new Error(`applyColorMatrix: expected images of shape [N,3,H,W], got ${shapeStr(x.shape)}`);
  const [n, , h, w] = x.shape;
  if (m.ndim !== 3 || m.shape[1] !== 3 || m.shape[2] !== 3 || (m.shape[0] !== n && m.shape[0] !== 1)) {
    throw new Error(`applyColorMatrix: expected matrices of shape [${n},3,3] (or [1,3,3]) for images ${shapeStr(x.shape)}, got ${shapeStr(m.shape)}`);
  }
  const flat = reshape(x, [n, 3, h * w]);
  const y = matmul(m, flat);
  const out = reshape(y, [n, 3, h, w]);
  flat.dispose();
  y.dispose();
  return out;
}
