import { noGrad } from '../autograd/graph.js';
import type { Tensor } from '../tensor/tensor.js';
import { concat } from '../ops/shape-ops.js';
import { flatGradArena, flatGradNorm, flatScaleGrads } from './arena-ops.js';

/**
 * The global L2 norm of all gradients as a 0-d tensor (stays on the GPU), or null when no parameter has a gradient.
 * The training loop reads it to skip steps with a NaN or Inf gradient before they reach the weights.
 */
export function globalGradNorm(params: readonly Tensor[]): Tensor | null {
  return noGrad(() => {
    const withGrad = params.filter((p) => p.grad);
    if (!withGrad.length) return null;
    // An optimizer's flat gradients: one pass per arena chunk instead of three kernels per parameter.
    const arena = flatGradArena(params);
    if (arena) return flatGradNorm(arena, params);
    const partial = withGrad.map((p) => {
      const sq = p.grad!.square();
      const s = sq.sum().reshape([1]);
      sq.dispose();
      return s;
    });
    const all = concat(partial);
    partial.forEach((t) => t.dispose());
    const total = all.sum();
    all.dispose();
    const norm = total.sqrt();
    total.dispose();
    return norm;
  });
}

/** Scales all gradients by min(1, maxNorm / (norm + 1e-6)), with `norm` from globalGradNorm; on the GPU. */
export function scaleGradsToNorm(params: readonly Tensor[], norm: Tensor, maxNorm: number): void {
  const arena = flatGradArena(params);
  if (arena) {
    flatScaleGrads(arena, params, { norm, maxNorm });
    return;
  }
  noGrad(() => {
    const denom = norm.add(1e-6);
    const ratio = denom.reciprocal().mul(maxNorm);
    denom.dispose();
    const factor = ratio.minimum(1);
    ratio.dispose();
    for (const p of params) {
      if (!p.grad) continue;
      const scaled = p.grad.mul(factor);
      p.grad.dispose();
      p.grad = scaled;
    }
    factor.dispose();
  });
}

/**
 * Scales all gradients so their global L2 norm is at most `maxNorm` (as torch.nn.utils.clip_grad_norm_).
 * Stays on the GPU (no readback); returns the norm before clipping as a 0-d tensor the caller may read or dispose.
 */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): Tensor {
  const norm = globalGradNorm(params);
  if (!norm) throw new Error('clipGradNorm: no parameter has a gradient (call backward() first)');
  scaleGradsToNorm(params, norm, maxNorm);
  return norm;
}
