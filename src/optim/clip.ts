import { noGrad } from '../autograd/graph.js';
import type { Tensor } from '../tensor/tensor.js';
import { concat } from '../ops/shape-ops.js';

/**
 * Scales all gradients so their global L2 norm is at most `maxNorm` (as torch.nn.utils.clip_grad_norm_).
 * Stays on the GPU (no readback); returns the norm before clipping as a 0-d tensor the caller may read or dispose.
 */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): Tensor {
  return noGrad(() => {
    const withGrad = params.filter((p) => p.grad);
    if (!withGrad.length) throw new Error('clipGradNorm: no parameter has a gradient (call backward() first)');
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
    // factor = min(1, maxNorm / (norm + 1e-6)), computed on the GPU.
    const denom = norm.add(1e-6);
    const ratio = denom.reciprocal().mul(maxNorm);
    denom.dispose();
    const factor = ratio.minimum(1);
    ratio.dispose();
    for (const p of withGrad) {
      const scaled = p.grad!.mul(factor);
      p.grad!.dispose();
      p.grad = scaled;
    }
    factor.dispose();
    return norm;
  });
}
