import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/scope.js';
import { Module } from '../nn/module.js';
import { Conv2d } from '../nn/conv2d.js';
import { AutoencoderKL, Encoder } from '../models/vae.js';
import { UNet2DConditionModel } from '../models/unet.js';
import { NullTextContext } from '../models/text-context.js';
import { getModelConfig, type UNetConfig, type VaeConfig } from '../models/configs.js';
import { applyCmbLora, setBayerPattern } from '../models/cmb-lora.js';
import { sparseRGB } from '../raw/bayer.js';
import type { BayerPattern } from '../raw/bayer-pattern.js';
import { NoiseSchedule } from './schedule.js';

/** Everything that defines an RDDM system; saved beside its weights. */
export interface RddmConfig {
  vae: string;
  unet: string;
  /** Latents are multiplied by this before diffusion (measured after RVAE stage 1: 1 / std of the latents). */
  latentScale: number;
  /** The one-step restoration timestep T. */
  timestep: number;
  loraRank: number;
  /**
   * ε of the signed square-root companding between camera-linear values and the RVAE's input/output domain,
   * u = x / (√(|x| + ε) + √ε) (inverse x = u·(|u| + 2√ε)); 0 or absent: none (weights made before it existed).
   * RAW values are small (a synthesised crop's mean is often 0.01–0.05), and a VAE fed them directly spends its
   * precision on the highlights: its relative error in the shadows, which the tone curve then magnifies, was ~100%.
   * The square root is about the sRGB curve and roughly variance-stabilising for shot noise; being pointwise, it
   * commutes with the Bayer mosaic, so E_lin and E_raw see the same domain.
   */
  compandEps?: number;
}

export const DEFAULT_RDDM_CONFIG: RddmConfig = { vae: 'tiny-vae', unet: 'tiny-unet', latentScale: 1, timestep: 999, loraRank: 4, compandEps: 1e-3 };

/**
 * E_raw: the RVAE encoder adapted to RAW in stage 2. It reads the mosaic as sparse RGB at full resolution (so
 * conv_in keeps 3 inputs and the base weights of E_lin apply unchanged) and carries one CMB-LoRA per pattern.
 */
export class RawEncoder extends Module {
  encoder: Encoder;
  quant_conv: Conv2d;
  constructor(readonly config: VaeConfig) {
    super();
    this.encoder = new Encoder(config);
    const l = 2 * config.latentChannels;
    this.quant_conv = new Conv2d(l, l, 1, { stride: 1, padding: 0, bias: true });
  }
  /** Posterior mean of the latent of a mosaic [N,1,H,W] with the given pattern (unscaled). */
  forward(mosaic: Tensor, pattern: BayerPattern): Tensor {
    setBayerPattern(this, pattern);
    return tidy(() => {
      const moments = this.quant_conv.forward(this.encoder.forward(sparseRGB(mosaic, pattern)));
      return moments.slice(1, 0, this.config.latentChannels).contiguous();
    });
  }
}

/**
 * The RDDM system: RVAE (E_lin, D_lin), E_raw with CMB-LoRA, the diffusion UNet with CMB-LoRA and its learned
 * null-text context. Parameter names are prefixed by component (`vae.`, `raw_encoder.`, `unet.`, `context.`).
 */
export class RddmSystem extends Module {
  vae: AutoencoderKL;
  raw_encoder: RawEncoder;
  unet: UNet2DConditionModel;
  context: NullTextContext;
  readonly schedule = new NoiseSchedule();
  private loraApplied = false;

  constructor(readonly config: RddmConfig) {
    super();
    const vc = getModelConfig(config.vae) as VaeConfig;
    const uc = getModelConfig(config.unet) as UNetConfig;
    if (vc.kind !== 'vae' || uc.kind !== 'unet') throw new Error(`RDDM config: '${config.vae}' must name a VAE config and '${config.unet}' a UNet config`);
    if (uc.inChannels !== vc.latentChannels || uc.outChannels !== vc.latentChannels) {
      throw new Error(`RDDM config: UNet '${config.unet}' has ${uc.inChannels} input channels but VAE '${config.vae}' has ${vc.latentChannels} latent channels`);
    }
    this.vae = new AutoencoderKL(vc);
    this.raw_encoder = new RawEncoder(vc);
    this.unet = new UNet2DConditionModel(uc);
    this.context = new NullTextContext(uc);
  }

  /** Wraps E_raw's convs and the UNet's target layers with CMB-LoRA (idempotent). Freezes the wrapped bases. */
  applyLora(): void {
    if (this.loraApplied) return;
    applyCmbLora(this.raw_encoder, { rank: this.config.loraRank, select: (p, l) => p.startsWith('encoder.') && l.weight.ndim === 4 });
    applyCmbLora(this.unet, { rank: this.config.loraRank });
    this.loraApplied = true;
  }

  setPattern(pattern: BayerPattern): void {
    setBayerPattern(this.raw_encoder, pattern);
    if (this.loraApplied) setBayerPattern(this.unet, pattern);
  }

  /** Camera-linear values → the RVAE's domain (see RddmConfig.compandEps); the identity when it is off. */
  toModelDomain(x: Tensor): Tensor {
    const e = this.config.compandEps ?? 0;
    if (!e) return x;
    return tidy(() => x.div(x.abs().add(e).sqrt().add(Math.sqrt(e))));
  }

  /** The RVAE's domain → camera-linear values (inverse of toModelDomain). */
  fromModelDomain(u: Tensor): Tensor {
    const e = this.config.compandEps ?? 0;
    if (!e) return u;
    return tidy(() => u.mul(u.abs().add(2 * Math.sqrt(e))));
  }

  /** s · E_lin(x): diffusion latent of a linear image (posterior mean). */
  linearLatent(x: Tensor): Tensor {
    return tidy(() => {
      const m = this.vae.encodeMoments(this.toModelDomain(x));
      return m.slice(1, 0, this.vae.config.latentChannels).mul(this.config.latentScale);
    });
  }

  /** s · E_raw(mosaic). */
  rawLatent(mosaic: Tensor, pattern: BayerPattern): Tensor {
    return tidy(() => this.raw_encoder.forward(this.toModelDomain(mosaic), pattern).mul(this.config.latentScale));
  }

  /** D_lin(z / s): linear image of a diffusion latent. */
  decodeLatent(z: Tensor): Tensor {
    return tidy(() => this.fromModelDomain(this.vae.decode(z.mul(1 / this.config.latentScale))));
  }

  /** ε̂ = UNet(z, t, null context) with the pattern's LoRA active. */
  predictNoise(z: Tensor, t: number | Tensor): Tensor {
    return tidy(() => this.unet.forward(z, t, this.context.forward(z.shape[0])));
  }

  /**
   * One-step restoration (OSEDiff-style): ẑ_H = (z_L − √(1−ᾱ_T)·ε̂) / √ᾱ_T with z_L = s·E_raw(mosaic) and
   * ε̂ = UNet(z_L, T); returns { zH, image: D_lin(ẑ_H / s) } (linear, camera space).
   */
  restoreOneStep(mosaic: Tensor, pattern: BayerPattern): { zL: Tensor; zH: Tensor; image: Tensor } {
    this.setPattern(pattern);
    return tidy(() => {
      const zL = this.rawLatent(mosaic, pattern);
      const zH = this.oneStepLatent(zL);
      return { zL, zH, image: this.decodeLatent(zH) };
    });
  }

  /** ẑ_H from z_L with the active pattern's LoRA: the UNet half of restoreOneStep (restore times it on its own). */
  oneStepLatent(zL: Tensor): Tensor {
    const T = this.config.timestep;
    const ab = this.schedule.alphaBar(T);
    return tidy(() => {
      const eps = this.predictNoise(zL, T);
      return zL.sub(eps.mul(Math.sqrt(1 - ab))).mul(1 / Math.sqrt(ab));
    });
  }
}
