import type { Tensor } from '../tensor/tensor.js';
import { layerNorm } from '../ops/layer-norm.js';
import { ones, zeros } from '../ops/creation.js';
import { Module, parameter } from './module.js';

/** torch.nn.LayerNorm: `weight` (ones) and `bias` (zeros) of the normalized shape when elementwise-affine (the default). */
export class LayerNorm extends Module {
  weight: Tensor | null;
  bias: Tensor | null;
  readonly eps: number;
  readonly normalizedShape: number[];
  constructor(shape: number | readonly number[], opts: { eps?: number; elementwiseAffine?: boolean } = {}) {
    super();
    this.normalizedShape = typeof shape === 'number' ? [shape] : [...shape];
    this.eps = opts.eps ?? 1e-5;
    const affine = opts.elementwiseAffine ?? true;
    this.weight = affine ? parameter(ones(this.normalizedShape)) : null;
    this.bias = affine ? parameter(zeros(this.normalizedShape)) : null;
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight ?? undefined, this.bias ?? undefined, this.eps);
  }
}
