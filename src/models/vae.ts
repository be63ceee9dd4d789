import type { Tensor } from '../tensor/tensor.js';
import { keep, tidy } from '../tensor/scope.js';
import { shapeStr } from '../tensor/shape.js';
import { Module } from '../nn/module.js';
import { Conv2d } from '../nn/conv2d.js';
import { GroupNorm } from '../nn/group-norm.js';
import { randn } from '../ops/random.js';
import { tensor } from '../ops/creation.js';
import { copyInto } from '../ops/copy.js';
import { noGrad } from '../autograd/graph.js';
import { validateVaeConfig, vaeDownscale, type VaeConfig } from './configs.js';
import { DownEncoderBlock2D, UNetMidBlock2D, UpDecoderBlock2D } from './unet-blocks.js';
import { normSilu, type Conv2dLike } from './resnet-block.js';
import { setActiveAdapter } from '../nn/lora.js';
import type { BayerPattern } from '../raw/bayer-pattern.js';

// SD's VAE uses eps 1e-6 in every GroupNorm (diffusers' Encoder/Decoder defaults).
const VAE_EPS = 1e-6;

/** diffusers' Encoder: conv_in, down blocks, mid block, GroupNorm-SiLU, conv_out to 2·latent (mean, log-variance). */
export class Encoder extends Module {
  conv_in: Conv2dLike;
  down_blocks: DownEncoderBlock2D[];
  mid_block: UNetMidBlock2D;
  conv_norm_out: GroupNorm;
  conv_out: Conv2dLike;
  constructor(readonly config: VaeConfig) {
    super();
    const ch = config.blockOutChannels;
    const resnet = { groups: config.normNumGroups, eps: VAE_EPS, tembChannels: 0 };
    this.conv_in = new Conv2d(config.inChannels, ch[0], 3, { stride: 1, padding: 1, bias: true });
    let out = ch[0];
    this.down_blocks = ch.map((c, i) => {
      const inC = out;
      out = c;
      return new DownEncoderBlock2D(inC, c, config.layersPerBlock, i < ch.length - 1, resnet);
    });
    const top = ch[ch.length - 1];
    this.mid_block = new UNetMidBlock2D(top, resnet, config.midBlockAddAttention ?? true);
    this.conv_norm_out = new GroupNorm(config.normNumGroups, top, { eps: VAE_EPS, affine: true });
    this.conv_out = new Conv2d(top, 2 * config.latentChannels, 3, { stride: 1, padding: 1, bias: true });
  }
  forward(x: Tensor): Tensor {
    return tidy(() => this.forwardTop(this.forwardDown(x)));
  }
  /** conv_in and the down blocks: the high-resolution part (tiled VAE runs this per tile). */
  forwardDown(x: Tensor): Tensor {
    return tidy(() => {
      let h = this.conv_in.forward(x);
      for (const b of this.down_blocks) h = b.forward(h);
      return h;
    });
  }
  /** Mid block (global attention) and output head, at latent resolution. */
  forwardTop(h: Tensor): Tensor {
    return tidy(() => this.conv_out.forward(normSilu(this.conv_norm_out, this.config.normNumGroups, VAE_EPS, this.mid_block.forward(h))));
  }
}

/** diffusers' Decoder: conv_in from the latent, mid block, up blocks (reversed widths), GroupNorm-SiLU, conv_out. */
export class Decoder extends Module {
  conv_in: Conv2dLike;
  up_blocks: UpDecoderBlock2D[];
  mid_block: UNetMidBlock2D;
  conv_norm_out: GroupNorm;
  conv_out: Conv2dLike;
  constructor(readonly config: VaeConfig) {
    super();
    const rev = [...config.blockOutChannels].reverse();
    const resnet = { groups: config.normNumGroups, eps: VAE_EPS, tembChannels: 0 };
    this.conv_in = new Conv2d(config.latentChannels, rev[0], 3, { stride: 1, padding: 1, bias: true });
    let out = rev[0];
    this.up_blocks = rev.map((c, i) => {
      const prev = out;
      out = c;
      return new UpDecoderBlock2D(prev, c, config.layersPerBlock, i < rev.length - 1, resnet);
    });
    this.mid_block = new UNetMidBlock2D(rev[0], resnet, config.midBlockAddAttention ?? true);
    const last = rev[rev.length - 1];
    this.conv_norm_out = new GroupNorm(config.normNumGroups, last, { eps: VAE_EPS, affine: true });
    this.conv_out = new Conv2d(last, config.outChannels, 3, { stride: 1, padding: 1, bias: true });
  }
  forward(z: Tensor): Tensor {
    return tidy(() => this.forwardUp(this.forwardBottom(z)));
  }
  /** conv_in and the mid block (global attention), at latent resolution. */
  forwardBottom(z: Tensor): Tensor {
    return tidy(() => this.mid_block.forward(this.conv_in.forward(z)));
  }
  /** The up blocks and output head: the high-resolution part (tiled VAE runs this per tile). */
  forwardUp(h: Tensor): Tensor {
    return tidy(() => {
      let x = h;
      for (const b of this.up_blocks) x = b.forward(x);
      return this.conv_out.forward(normSilu(this.conv_norm_out, this.config.normNumGroups, VAE_EPS, x));
    });
  }
}

/**
 * The encoder's posterior N(mean, exp(logvar)) per latent element (diffusers' DiagonalGaussianDistribution).
 * Owns its tensors: dispose() when done.
 */
export class DiagonalGaussian {
  readonly mean: Tensor;
  readonly logvar: Tensor;
  constructor(moments: Tensor, latentChannels: number) {
    const [mean, logvar] = tidy(() => [moments.slice(1, 0, latentChannels).contiguous(), moments.slice(1, latentChannels).clamp(-30, 20)]);
    this.mean = keep(mean);
    this.logvar = keep(logvar);
  }
  /** mean + exp(logvar / 2) · ε, with ε ~ N(0, 1) drawn here. */
  sample(): Tensor {
    return tidy(() => this.mean.add(this.logvar.mul(0.5).exp().mul(randn(this.mean.shape))));
  }
  mode(): Tensor {
    return tidy(() => this.mean.add(0));
  }
  /** KL(q ‖ N(0, 1)) per sample: ½ Σ (mean² + var − 1 − logvar) over C, H, W; shape [B]. */
  kl(): Tensor {
    return tidy(() => this.mean.square().add(this.logvar.exp()).sub(1).sub(this.logvar).sum([1, 2, 3]).mul(0.5));
  }
  dispose(): void {
    this.mean.dispose();
    this.logvar.dispose();
  }
}

/**
 * The RVAE: Stable Diffusion's AutoencoderKL (encoder, decoder, quant_conv, post_quant_conv, as diffusers names
 * them). encode() gives the posterior; latents for diffusion are `sample() · scalingFactor`.
 */
export class AutoencoderKL extends Module {
  encoder: Encoder;
  decoder: Decoder;
  quant_conv: Conv2dLike;
  post_quant_conv: Conv2dLike;
  constructor(readonly config: VaeConfig) {
    super();
    validateVaeConfig(config);
    const l = config.latentChannels;
    this.encoder = new Encoder(config);
    this.decoder = new Decoder(config);
    this.quant_conv = new Conv2d(2 * l, 2 * l, 1, { stride: 1, padding: 0, bias: true });
    this.post_quant_conv = new Conv2d(l, l, 1, { stride: 1, padding: 0, bias: true });
  }

  /**
   * Sets the log-variance half of quant_conv's bias to `logvar`, so an untrained encoder's posterior starts narrow
   * (std e^(logvar/2)) instead of at diffusers' default init, whose log-variances start near 0 (std ≈ 1). Why: with
   * the small KL weight of RVAE training the posterior ends narrow anyway (the shipped RVAE's std is 0.001–0.005), and
   * the decoder is used on the posterior mean, so from step 1 it trains on the latents it will decode. What it is
   * not: a speed-up of stage 1. After 500 steps from the random init the std was 0.06–0.16 against latents of std
   * 0.2–1.5, yet both inits reconstructed the clean validation crops alike (26.7–27.6 dB sRGB over 8 and 16 latent
   * channels, bench/results/rvae-stage1-ab-validation-lavapipe.json): the latent noise was not what held it back.
   */
  narrowPosterior(logvar: number): void {
    const l = this.config.latentChannels;
    // By name: quant_conv may be wrapped (Conv2dLike), and the bias is the base conv's either way.
    const bias = this.namedParameters().find(([n]) => n === 'quant_conv.bias')?.[1];
    if (!bias) throw new Error('internal: the VAE has no quant_conv.bias');
    noGrad(() => {
      const v = tensor(new Float32Array(l).fill(logvar), [l]);
      copyInto(bias.slice(0, l, 2 * l), v);
      v.dispose();
    });
  }

  /** Image side lengths must be multiples of this (8 for SD 2.1). */
  get downscale(): number {
    return vaeDownscale(this.config);
  }

  /** The encoder's raw moments [B, 2·latent, H/f, W/f] (mean, then log-variance). */
  encodeMoments(x: Tensor): Tensor {
    const c = this.config;
    const f = this.downscale;
    if (x.ndim !== 4 || x.shape[1] !== c.inChannels) throw new Error(`VAE encode: input shape ${shapeStr(x.shape)} should be [B, ${c.inChannels}, H, W]`);
    if (x.shape[2] % f || x.shape[3] % f) throw new Error(`VAE encode: image size ${x.shape[2]}x${x.shape[3]} must be a multiple of ${f} (pad or crop the image)`);
    return tidy(() => this.quant_conv.forward(this.encoder.forward(x)));
  }

  encode(x: Tensor): DiagonalGaussian {
    const m = this.encodeMoments(x);
    const g = new DiagonalGaussian(m, this.config.latentChannels);
    m.dispose();
    return g;
  }

  /** z: [B, latent, h, w] (unscaled: divide diffusion latents by scalingFactor first) → image [B, out, h·f, w·f]. */
  decode(z: Tensor): Tensor {
    const c = this.config;
    if (z.ndim !== 4 || z.shape[1] !== c.latentChannels) throw new Error(`VAE decode: latent shape ${shapeStr(z.shape)} should be [B, ${c.latentChannels}, h, w]`);
    return tidy(() => this.decoder.forward(this.post_quant_conv.forward(z)));
  }

  /** Reconstruction through the posterior mean (or a sample), as diffusers' forward. */
  forward(x: Tensor, opts: { samplePosterior?: boolean } = {}): Tensor {
    const g = this.encode(x);
    try {
      return tidy(() => this.decode(opts.samplePosterior ? g.sample() : g.mean));
    } finally {
      g.dispose();
    }
  }

  /** Switches every CMB-LoRA adapter (the encoder's, in stage 2) to `pattern`; null: base weights only. */
  setBayerPattern(pattern: BayerPattern | null): this {
    setActiveAdapter(this, pattern);
    return this;
  }
}
