import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/scope.js';
import { shapeStr } from '../tensor/shape.js';
import { Module } from '../nn/module.js';
import { Linear } from '../nn/linear.js';
import { Conv2d } from '../nn/conv2d.js';
import { GroupNorm } from '../nn/group-norm.js';
import { full } from '../ops/creation.js';
import { timestepEmbedding } from '../ops/timestep-embedding.js';
import { validateUNetConfig, type UNetConfig } from './configs.js';
import { DownBlock2D, UNetMidBlock2DCrossAttn, UpBlock2D, type BlockContext } from './unet-blocks.js';
import { normSilu, withActivatedTemb, type Conv2dLike, type LinearLike } from './resnet-block.js';
import { setActiveAdapter } from '../nn/lora.js';
import type { BayerPattern } from '../raw/bayer-pattern.js';

/** diffusers' TimestepEmbedding: linear_1, SiLU, linear_2 on the sinusoidal embedding. */
export class TimestepEmbedding extends Module {
  linear_1: LinearLike;
  linear_2: LinearLike;
  constructor(inChannels: number, dim: number) {
    super();
    this.linear_1 = new Linear(inChannels, dim);
    this.linear_2 = new Linear(dim, dim);
  }
  forward(x: Tensor): Tensor {
    return tidy(() => this.linear_2.forward(this.linear_1.forward(x).silu()));
  }
}

/**
 * Stable Diffusion's UNet2DConditionModel, laid out exactly as diffusers does (so `diffusion_pytorch_model.safetensors`
 * loads by name): conv_in, time_embedding, down_blocks, up_blocks, mid_block, conv_norm_out, conv_out.
 * forward(latents [B, C, H, W], timesteps, context [B, tokens, crossAttentionDim]) predicts ε (or v) of the same shape.
 */
export class UNet2DConditionModel extends Module {
  conv_in: Conv2dLike;
  time_embedding: TimestepEmbedding;
  down_blocks: DownBlock2D[];
  up_blocks: UpBlock2D[];
  mid_block: UNetMidBlock2DCrossAttn;
  conv_norm_out: GroupNorm;
  conv_out: Conv2dLike;

  constructor(readonly config: UNetConfig) {
    super();
    validateUNetConfig(config);
    const ch = config.blockOutChannels;
    const n = ch.length;
    const tembDim = ch[0] * 4;
    const resnet = { groups: config.normNumGroups, eps: config.normEps, tembChannels: tembDim };
    const ctx = (heads: number): BlockContext => ({ resnet, heads, crossAttentionDim: config.crossAttentionDim });

    this.conv_in = new Conv2d(config.inChannels, ch[0], 3, { stride: 1, padding: 1, bias: true });
    this.time_embedding = new TimestepEmbedding(ch[0], tembDim);
    let out = ch[0];
    this.down_blocks = config.downBlockTypes.map((type, i) => {
      const inC = out;
      out = ch[i];
      const heads = type === 'CrossAttnDownBlock2D' ? config.numAttentionHeads[i] : 0;
      return new DownBlock2D(inC, out, config.layersPerBlock, i < n - 1, ctx(heads));
    });
    const rev = [...ch].reverse();
    const revHeads = [...config.numAttentionHeads].reverse();
    let prev = rev[0];
    this.up_blocks = config.upBlockTypes.map((type, i) => {
      const heads = type === 'CrossAttnUpBlock2D' ? revHeads[i] : 0;
      const block = new UpBlock2D(rev[Math.min(i + 1, n - 1)], rev[i], prev, config.layersPerBlock, i < n - 1, ctx(heads));
      prev = rev[i];
      return block;
    });
    this.mid_block = new UNetMidBlock2DCrossAttn(ch[n - 1], ctx(config.numAttentionHeads[n - 1]));
    this.conv_norm_out = new GroupNorm(config.normNumGroups, ch[0], { eps: config.normEps, affine: true });
    this.conv_out = new Conv2d(ch[0], config.outChannels, 3, { stride: 1, padding: 1, bias: true });
  }

  /** Latent side lengths must be multiples of this (each down block halves them). */
  get sizeMultiple(): number {
    return 2 ** (this.config.blockOutChannels.length - 1);
  }

  /** The embedding fed to every ResNet block: sinusoidal(t) → linear_1 → SiLU → linear_2, shape [B, 4·ch0]. */
  embedTimesteps(timesteps: Tensor | number, batch: number): Tensor {
    return tidy(() => {
      const t = typeof timesteps === 'number' ? full([batch], timesteps) : timesteps.ndim === 0 ? timesteps.reshape([1]).expand([batch]) : timesteps;
      if (t.ndim !== 1 || (t.shape[0] !== batch && t.shape[0] !== 1)) throw new Error(`UNet: timesteps shape ${shapeStr(t.shape)} should be [${batch}] (one per sample) or a number`);
      const tb = t.shape[0] === batch ? t : t.expand([batch]);
      const sin = timestepEmbedding(tb, this.config.blockOutChannels[0], { flipSinToCos: this.config.flipSinToCos, downscaleFreqShift: this.config.freqShift });
      return this.time_embedding.forward(sin);
    });
  }

  forward(sample: Tensor, timesteps: Tensor | number, context: Tensor | null): Tensor {
    const c = this.config;
    const [b, ch, h, w] = sample.shape;
    if (sample.ndim !== 4 || ch !== c.inChannels) throw new Error(`UNet: sample shape ${shapeStr(sample.shape)} should be [B, ${c.inChannels}, H, W]`);
    const m = this.sizeMultiple;
    if (h % m || w % m) throw new Error(`UNet: latent size ${h}x${w} must be a multiple of ${m} (pad the latent, or use an image size that is a multiple of ${m} × the VAE factor)`);
    return tidy(() => {
      const temb = this.embedTimesteps(timesteps, b);
      return withActivatedTemb(temb, () => this.forwardBlocks(sample, temb, context));
    });
  }

  /** conv_in, the down, mid and up blocks, and the output head (inside forward's tidy scope). */
  private forwardBlocks(sample: Tensor, temb: Tensor, context: Tensor | null): Tensor {
    const c = this.config;
    let x = this.conv_in.forward(sample);
    const skips: Tensor[] = [x];
    for (const block of this.down_blocks) {
      const { out, skips: s } = block.forward(x, temb, context);
      skips.push(...s);
      x = out;
    }
    x = this.mid_block.forward(x, temb, context);
    for (const block of this.up_blocks) {
      const next = block.forward(x, skips, temb, context);
      x.dispose();
      x = next;
    }
    return this.conv_out.forward(normSilu(this.conv_norm_out, c.normNumGroups, c.normEps, x));
  }

  /** Switches every CMB-LoRA adapter in the model to `pattern` (null: base weights only). See cmb-lora.ts. */
  setBayerPattern(pattern: BayerPattern | null): this {
    setActiveAdapter(this, pattern);
    return this;
  }
}
