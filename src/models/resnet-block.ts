import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/scope.js';
import { shapeStr } from '../tensor/shape.js';
import { Module } from '../nn/module.js';
import { Linear } from '../nn/linear.js';
import { Conv2d } from '../nn/conv2d.js';
import { GroupNorm } from '../nn/group-norm.js';
import { groupNorm } from '../ops/group-norm.js';
import { upsampleNearest2d } from '../ops/resample.js';

/** Anything called like a conv: nn.Conv2d, or a LoRA wrapper standing in its place. */
export interface Conv2dLike extends Module {
  forward(x: Tensor): Tensor;
}
/** Anything called like a linear layer: nn.Linear, or a LoRA wrapper standing in its place. */
export interface LinearLike extends Module {
  /** y = layer(x), plus `residual` (y's shape) added in the same kernel where the layer can. */
  forward(x: Tensor, residual?: Tensor | null): Tensor;
}

/** GroupNorm + SiLU in one kernel, reading the module's affine parameters (diffusers applies them back to back). */
export function normSilu(norm: GroupNorm, groups: number, eps: number, x: Tensor): Tensor {
  return groupNorm(x, groups, norm.weight ?? undefined, norm.bias ?? undefined, eps, { silu: true });
}

export interface ResnetBlockOptions {
  groups: number;
  eps: number;
  /** Width of the timestep embedding (UNet); 0 for the VAE's blocks, which have no time_emb_proj. */
  tembChannels: number;
}

/**
 * diffusers' ResnetBlock2D (resnet_time_scale_shift = "default", output_scale_factor = 1): two GroupNorm-SiLU-conv
 * stages, the projected timestep embedding added between them, and a 1x1 conv_shortcut when the width changes.
 */
export class ResnetBlock2D extends Module {
  norm1: GroupNorm;
  conv1: Conv2dLike;
  time_emb_proj: LinearLike | null;
  norm2: GroupNorm;
  conv2: Conv2dLike;
  conv_shortcut: Conv2dLike | null;
  readonly groups: number;
  readonly eps: number;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    opts: ResnetBlockOptions,
  ) {
    super();
    this.groups = opts.groups;
    this.eps = opts.eps;
    this.norm1 = new GroupNorm(opts.groups, inChannels, { eps: opts.eps, affine: true });
    this.conv1 = new Conv2d(inChannels, outChannels, 3, { stride: 1, padding: 1, bias: true });
    this.time_emb_proj = opts.tembChannels > 0 ? new Linear(opts.tembChannels, outChannels) : null;
    this.norm2 = new GroupNorm(opts.groups, outChannels, { eps: opts.eps, affine: true });
    this.conv2 = new Conv2d(outChannels, outChannels, 3, { stride: 1, padding: 1, bias: true });
    this.conv_shortcut = inChannels !== outChannels ? new Conv2d(inChannels, outChannels, 1, { stride: 1, padding: 0, bias: true }) : null;
  }

  /** x: [B, inChannels, H, W]; temb: [B, tembChannels] (the UNet's embedding before SiLU) or nothing (VAE). */
  forward(x: Tensor, temb?: Tensor | null): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.inChannels) {
      throw new Error(`ResnetBlock2D(${this.inChannels} -> ${this.outChannels}): input shape ${shapeStr(x.shape)} should be [B, ${this.inChannels}, H, W]`);
    }
    return tidy(() => {
      let h = this.conv1.forward(normSilu(this.norm1, this.groups, this.eps, x));
      if (this.time_emb_proj) {
        if (!temb) throw new Error('ResnetBlock2D: this block has time_emb_proj and needs the timestep embedding');
        const t = this.time_emb_proj.forward(temb.silu());
        h = h.add(t.reshape([t.shape[0], t.shape[1], 1, 1]));
      }
      h = this.conv2.forward(normSilu(this.norm2, this.groups, this.eps, h));
      const shortcut = this.conv_shortcut ? this.conv_shortcut.forward(x) : x;
      return shortcut.add(h);
    });
  }
}

/**
 * diffusers' Downsample2D with a conv: a stride-2 3x3 conv. The UNet pads 1 on every side; the VAE pads only
 * right and bottom (padding = 0 in its config, then F.pad (0, 1, 0, 1)), which is what its weights were trained with.
 */
export class Downsample2D extends Module {
  conv: Conv2dLike;
  constructor(
    readonly channels: number,
    readonly padding: 'symmetric' | 'right-bottom',
  ) {
    super();
    this.conv = new Conv2d(channels, channels, 3, { stride: 2, padding: padding === 'symmetric' ? 1 : 0, bias: true });
  }
  forward(x: Tensor): Tensor {
    if (this.padding === 'symmetric') return this.conv.forward(x);
    return tidy(() => this.conv.forward(x.pad([0, 1, 0, 1])));
  }
}

/** diffusers' Upsample2D with a conv: nearest-neighbour ×2, then a 3x3 conv. */
export class Upsample2D extends Module {
  conv: Conv2dLike;
  constructor(readonly channels: number) {
    super();
    this.conv = new Conv2d(channels, channels, 3, { stride: 1, padding: 1, bias: true });
  }
  forward(x: Tensor): Tensor {
    return tidy(() => this.conv.forward(upsampleNearest2d(x, 2)));
  }
}
