import type { Tensor } from '../tensor/tensor.js';
import { shapeStr } from '../tensor/shape.js';
import { groupNorm } from '../ops/group-norm.js';
import { ones, zeros } from '../ops/creation.js';
import { Module, parameter } from './module.js';

/**
 * torch.nn.GroupNorm: `weight` (ones) and `bias` (zeros), one per channel, when affine (the default), so
 * PyTorch/diffusers state dicts load by name. `forwardSilu` is the same normalisation followed by SiLU in one
 * kernel, the pair every diffusers ResNet block applies.
 */
export class GroupNorm extends Module {
  weight: Tensor | null;
  bias: Tensor | null;
  readonly eps: number;
  constructor(
    readonly numGroups: number,
    readonly numChannels: number,
    opts: { eps?: number; affine?: boolean } = {},
  ) {
    super();
    if (!Number.isInteger(numGroups) || numGroups < 1 || numChannels % numGroups) {
      throw new Error(`GroupNorm: ${numChannels} channels are not divisible by ${numGroups} groups; pick a group count that divides the channels`);
    }
    this.eps = opts.eps ?? 1e-5;
    const affine = opts.affine ?? true;
    this.weight = affine ? parameter(ones([numChannels])) : null;
    this.bias = affine ? parameter(zeros([numChannels])) : null;
  }

  private check(x: Tensor): void {
    if (x.shape[1] !== this.numChannels) {
      throw new Error(`GroupNorm(${this.numGroups}, ${this.numChannels}): input has ${x.shape[1]} channels (shape ${shapeStr(x.shape)})`);
    }
  }

  forward(x: Tensor): Tensor {
    this.check(x);
    return groupNorm(x, this.numGroups, this.weight ?? undefined, this.bias ?? undefined, this.eps);
  }

  /** silu(groupNorm(x)), fused. */
  forwardSilu(x: Tensor): Tensor {
    this.check(x);
    return groupNorm(x, this.numGroups, this.weight ?? undefined, this.bias ?? undefined, this.eps, { silu: true });
  }
}
