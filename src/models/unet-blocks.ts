import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/scope.js';
import { Module } from '../nn/module.js';
import { Attention } from './attention-blocks.js';
import { Transformer2DModel } from './attention-blocks.js';
import { Downsample2D, ResnetBlock2D, Upsample2D, type ResnetBlockOptions } from './resnet-block.js';

/** What a down block needs to know besides its widths. */
export interface BlockContext {
  resnet: ResnetBlockOptions;
  /** 0 for a block without attention. */
  heads: number;
  crossAttentionDim: number;
}

/**
 * CrossAttnDownBlock2D / DownBlock2D (heads = 0): `layers` × (resnet, then transformer), then an optional
 * stride-2 conv. Returns its output and every intermediate state the up path concatenates back (skip connections).
 */
export class DownBlock2D extends Module {
  attentions: Transformer2DModel[];
  resnets: ResnetBlock2D[];
  downsamplers: Downsample2D[];
  constructor(inChannels: number, readonly outChannels: number, layers: number, addDownsample: boolean, ctx: BlockContext) {
    super();
    this.attentions = ctx.heads ? Array.from({ length: layers }, () => new Transformer2DModel(outChannels, ctx.heads, ctx.crossAttentionDim, ctx.resnet.groups)) : [];
    this.resnets = Array.from({ length: layers }, (_, j) => new ResnetBlock2D(j === 0 ? inChannels : outChannels, outChannels, ctx.resnet));
    this.downsamplers = addDownsample ? [new Downsample2D(outChannels, 'symmetric')] : [];
  }

  forward(x: Tensor, temb: Tensor, context: Tensor | null): { out: Tensor; skips: Tensor[] } {
    const skips: Tensor[] = [];
    let h = x;
    this.resnets.forEach((r, j) => {
      const next = tidy(() => {
        const y = r.forward(h, temb);
        return this.attentions.length ? this.attentions[j].forward(y, requireContext(context)) : y;
      });
      skips.push(next);
      h = next;
    });
    for (const d of this.downsamplers) {
      h = d.forward(h);
      skips.push(h);
    }
    return { out: h, skips };
  }
}

/** UNetMidBlock2DCrossAttn: resnet, transformer, resnet (diffusers registers attentions before resnets). */
export class UNetMidBlock2DCrossAttn extends Module {
  attentions: Transformer2DModel[];
  resnets: ResnetBlock2D[];
  constructor(channels: number, ctx: BlockContext) {
    super();
    this.attentions = [new Transformer2DModel(channels, ctx.heads, ctx.crossAttentionDim, ctx.resnet.groups)];
    this.resnets = [new ResnetBlock2D(channels, channels, ctx.resnet), new ResnetBlock2D(channels, channels, ctx.resnet)];
  }
  forward(x: Tensor, temb: Tensor, context: Tensor | null): Tensor {
    return tidy(() => {
      const h = this.attentions[0].forward(this.resnets[0].forward(x, temb), requireContext(context));
      return this.resnets[1].forward(h, temb);
    });
  }
}

/**
 * CrossAttnUpBlock2D / UpBlock2D (heads = 0): `layers + 1` resnets, each fed the previous output concatenated
 * (channels) with the most recent skip state, each followed by a transformer; then an optional ×2 upsampler.
 */
export class UpBlock2D extends Module {
  attentions: Transformer2DModel[];
  resnets: ResnetBlock2D[];
  upsamplers: Upsample2D[];
  constructor(
    /** Width of the down block's input this block mirrors (its last skip's width). */
    inChannels: number,
    readonly outChannels: number,
    /** Width of the previous up block's output (or the mid block's). */
    prevOutputChannels: number,
    layers: number,
    addUpsample: boolean,
    ctx: BlockContext,
  ) {
    super();
    const n = layers + 1;
    this.attentions = ctx.heads ? Array.from({ length: n }, () => new Transformer2DModel(outChannels, ctx.heads, ctx.crossAttentionDim, ctx.resnet.groups)) : [];
    this.resnets = Array.from({ length: n }, (_, j) => {
      const skip = j === n - 1 ? inChannels : outChannels;
      const resIn = j === 0 ? prevOutputChannels : outChannels;
      return new ResnetBlock2D(resIn + skip, outChannels, ctx.resnet);
    });
    this.upsamplers = addUpsample ? [new Upsample2D(outChannels)] : [];
  }

  /** Consumes (and disposes) `skips` from the end: one per resnet. */
  forward(x: Tensor, skips: Tensor[], temb: Tensor, context: Tensor | null): Tensor {
    let h = x;
    this.resnets.forEach((r, j) => {
      const skip = skips.pop();
      if (!skip) throw new Error('UpBlock2D: ran out of skip connections (down and up blocks do not match)');
      const next = tidy(() => {
        const y = r.forward(h.concat([skip], 1), temb);
        return this.attentions.length ? this.attentions[j].forward(y, requireContext(context)) : y;
      });
      skip.dispose();
      if (h !== x) h.dispose();
      h = next;
    });
    for (const u of this.upsamplers) {
      const next = u.forward(h);
      if (h !== x) h.dispose();
      h = next;
    }
    return h;
  }
}

/** DownEncoderBlock2D (VAE): resnets without timestep, then an optional right/bottom-padded stride-2 conv. */
export class DownEncoderBlock2D extends Module {
  resnets: ResnetBlock2D[];
  downsamplers: Downsample2D[];
  constructor(inChannels: number, outChannels: number, layers: number, addDownsample: boolean, resnet: ResnetBlockOptions) {
    super();
    this.resnets = Array.from({ length: layers }, (_, j) => new ResnetBlock2D(j === 0 ? inChannels : outChannels, outChannels, resnet));
    this.downsamplers = addDownsample ? [new Downsample2D(outChannels, 'right-bottom')] : [];
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      let h = x;
      for (const r of this.resnets) h = r.forward(h);
      for (const d of this.downsamplers) h = d.forward(h);
      return h;
    });
  }
}

/** UpDecoderBlock2D (VAE): `layers + 1` resnets without skips or timestep, then an optional ×2 upsampler. */
export class UpDecoderBlock2D extends Module {
  resnets: ResnetBlock2D[];
  upsamplers: Upsample2D[];
  constructor(inChannels: number, outChannels: number, layers: number, addUpsample: boolean, resnet: ResnetBlockOptions) {
    super();
    this.resnets = Array.from({ length: layers + 1 }, (_, j) => new ResnetBlock2D(j === 0 ? inChannels : outChannels, outChannels, resnet));
    this.upsamplers = addUpsample ? [new Upsample2D(outChannels)] : [];
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      let h = x;
      for (const r of this.resnets) h = r.forward(h);
      for (const u of this.upsamplers) h = u.forward(h);
      return h;
    });
  }
}

/** UNetMidBlock2D (VAE): resnet, single-head spatial self-attention with its own GroupNorm, resnet. */
export class UNetMidBlock2D extends Module {
  /** Empty without attention (diffusers' add_attention=False: no `attentions.0` weights, resnet → resnet). */
  attentions: Attention[];
  resnets: ResnetBlock2D[];
  constructor(channels: number, resnet: ResnetBlockOptions, addAttention = true) {
    super();
    this.attentions = addAttention ? [new Attention(channels, 1, { bias: true, groupNorm: { groups: resnet.groups, eps: resnet.eps } })] : [];
    this.resnets = [new ResnetBlock2D(channels, channels, resnet), new ResnetBlock2D(channels, channels, resnet)];
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const h = this.resnets[0].forward(x);
      return this.resnets[1].forward(this.attentions[0] ? this.attentions[0].forwardSpatial(h) : h);
    });
  }
}

function requireContext(context: Tensor | null): Tensor {
  if (!context) throw new Error('UNet: cross-attention blocks need a context [B, tokens, crossAttentionDim] (use the null-text context for unconditional models)');
  return context;
}
