import type { Tensor } from '../tensor/tensor.js';
import { rand } from '../ops/random.js';
import { linear } from '../ops/linear.js';
import { Module, parameter } from './module.js';
import { autocastLinear, autocastState } from './autocast.js';

/** PyTorch's default init for Linear/Conv weights and biases: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (kaiming-uniform, a=sqrt(5)). */
export function kaimingUniform(shape: readonly number[], fanIn: number): Tensor {
  const bound = 1 / Math.sqrt(Math.max(1, fanIn));
  return rand(shape, { low: -bound, high: bound });
}

/**
 * y = x Wᵀ + b, with W of shape [out, in] (PyTorch layout, so state dicts load directly). Inside nn.autocast it
 * computes from float16 copies of x and W.
 */
export class Linear extends Module {
  weight: Tensor;
  bias: Tensor | null;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: { bias?: boolean } = {},
  ) {
    super();
    this.weight = parameter(kaimingUniform([outFeatures, inFeatures], inFeatures));
    this.bias = opts.bias === false ? null : parameter(kaimingUniform([outFeatures], inFeatures));
  }

  /** y = x·Wᵀ + b, plus `residual` (same shape as y) added in the same kernel where given. */
  forward(x: Tensor, residual?: Tensor | null): Tensor {
    if (x.shape[x.ndim - 1] !== this.inFeatures) {
      throw new Error(`Linear(${this.inFeatures} -> ${this.outFeatures}): input has ${x.shape[x.ndim - 1]} features (shape [${x.shape}])`);
    }
    const ac = autocastState();
    if (ac) {
      const y = autocastLinear(x, this.weight, this.bias, ac.outputDtype);
      if (!residual) return y;
      const out = y.add(residual);
      y.dispose();
      return out;
    }
    return linear(x, this.weight, this.bias, { residual });
  }
}
