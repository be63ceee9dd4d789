import type { Tensor } from '../tensor/tensor.js';
import { conv2d } from '../ops/conv2d.js';
import { Module, parameter } from './module.js';
import { kaimingUniform } from './linear.js';

/** nn.Conv2d with PyTorch's parameter layout (weight [out, in/groups, kh, kw], bias [out]) and default init. */
export class Conv2d extends Module {
  weight: Tensor;
  bias: Tensor | null;
  readonly stride: number;
  readonly padding: number;
  readonly dilation: number;
  readonly groups: number;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    opts: { stride?: number; padding?: number; dilation?: number; groups?: number; bias?: boolean } = {},
  ) {
    super();
    this.stride = opts.stride ?? 1;
    this.padding = opts.padding ?? 0;
    this.dilation = opts.dilation ?? 1;
    this.groups = opts.groups ?? 1;
    if (inChannels % this.groups || outChannels % this.groups) {
      throw new Error(`Conv2d: groups=${this.groups} must divide in (${inChannels}) and out (${outChannels}) channels`);
    }
    const fanIn = (inChannels / this.groups) * kernelSize * kernelSize;
    this.weight = parameter(kaimingUniform([outChannels, inChannels / this.groups, kernelSize, kernelSize], fanIn));
    this.bias = opts.bias === false ? null : parameter(kaimingUniform([outChannels], fanIn));
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }
}
