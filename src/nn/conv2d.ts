import type { Tensor } from '../tensor/tensor.js';
import { conv2d } from '../ops/conv2d.js';
import { Module, parameter } from './module.js';
import { kaimingUniform } from './linear.js';
import { autocastConv2d, autocastState } from './autocast.js';

/** A size given once for both axes or as [h, w], as PyTorch's int-or-tuple arguments. */
export type Size2 = number | readonly [number, number];
const hw = (v: Size2): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

/**
 * nn.Conv2d with PyTorch's parameter layout (weight [out, in/groups, kh, kw], bias [out]) and default init
 * (kaiming-uniform with a = √5, i.e. U(±1/√fan_in) for weight and bias, fan_in = in/groups·kh·kw), so
 * diffusers/PyTorch state dicts load as they are. Inside nn.autocast it computes from float16 copies of x and the
 * weight.
 */
export class Conv2d extends Module {
  weight: Tensor;
  bias: Tensor | null;
  readonly stride: Size2;
  readonly padding: Size2;
  readonly dilation: Size2;
  readonly groups: number;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: Size2,
    opts: { stride?: Size2; padding?: Size2; dilation?: Size2; groups?: number; bias?: boolean } = {},
  ) {
    super();
    this.stride = opts.stride ?? 1;
    this.padding = opts.padding ?? 0;
    this.dilation = opts.dilation ?? 1;
    this.groups = opts.groups ?? 1;
    if (!Number.isInteger(this.groups) || this.groups < 1 || inChannels % this.groups || outChannels % this.groups) {
      throw new Error(`Conv2d: groups=${this.groups} must divide in (${inChannels}) and out (${outChannels}) channels`);
    }
    const [kh, kw] = hw(kernelSize);
    const fanIn = (inChannels / this.groups) * kh * kw;
    this.weight = parameter(kaimingUniform([outChannels, inChannels / this.groups, kh, kw], fanIn));
    this.bias = opts.bias === false ? null : parameter(kaimingUniform([outChannels], fanIn));
  }

  /** conv(x) + bias, plus `residual` (the output's shape, or [N, C, 1, 1]) added in the same kernel where it can. */
  forward(x: Tensor, residual?: Tensor | null): Tensor {
    const opts = { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups };
    const ac = autocastState();
    if (ac) {
      const y = autocastConv2d(x, this.weight, this.bias, opts, ac.outputDtype);
      if (!residual) return y;
      const out = y.add(residual);
      y.dispose();
      return out;
    }
    return conv2d(x, this.weight, this.bias, { ...opts, residual });
  }
}
