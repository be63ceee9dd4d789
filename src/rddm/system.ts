import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/scope.js';
import { Module } from '../nn/module.js';
import { Conv2d } from '../nn/conv2d.js';
import { AutoencoderKL, Encoder } from '../models/vae.js';
import { UNet2DConditionModel } from '../models/unet.js';
import { NullTextContext } from '../models/text-context.js';
import { configLabel, resolveModelConfig, type ModelConfigRef, type UNetConfig, type VaeConfig } from '../models/configs.js';
import { applyCmbLora, growCmbLora, setBayerPattern } from '../models/cmb-lora.js';
import { sparseRGB } from '../raw/bayer.js';
import { tensor } from '../ops/creation.js';
import type { BayerPattern } from '../raw/bayer-pattern.js';
import { NoiseSchedule } from './schedule.js';
import { colourFix } from './colour-fix.js';

/** Everything that defines an RDDM system; saved beside its weights. */
export interface RddmConfig {
  /** A built-in VAE config's name ('tiny-vae-x2', 'sd21-vae'), or the config itself (an imported diffusers VAE that matches none). */
  vae: ModelConfigRef<VaeConfig>;
  /** A built-in UNet config's name, or the config itself. */
  unet: ModelConfigRef<UNetConfig>;
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
  /**
   * Per-image exposure normalisation: the RVAE sees g·x with g = exposureTarget / level(x) (level: the CFA-weighted
   * mean (R + 2G + B) / 4 of a linear image, the plain mean of a mosaic, so an image and its mosaic get the same
   * g), and its output is divided by g. 0 or absent: none (weights made before it existed).
   * Why: the decoder ends in GroupNorm → SiLU → conv, which normalises each group's level away, so the absolute
   * brightness of a crop (means of 0.01–0.05 vary 5× between crops) has to be smuggled through in relative form;
   * without this the RVAE's reconstructions were mostly wrong in level (an oracle gain alone added ~4 dB).
   */
  exposureTarget?: number;
  /**
   * Scale each output channel so that its mean equals the mean of the input mosaic's sites of that colour (the
   * mosaic's own, unbiased estimate of the image's mean colour: the noise is zero-mean). False or absent: off.
   * Why: the tiny RVAE's reconstructions kept structure but not the mean colour of a crop (channel means off by
   * 40–75% on held-out crops, a strong cast after white balance); matching them added ~3–5 dB sRGB PSNR.
   */
  matchChannelMeans?: boolean;
  /**
   * With exposureTarget: one gain per colour channel, g_c = exposureTarget / mean_c (a linear image's channel mean; a
   * mosaic's mean over its sites of that colour), so the RVAE sees a grey-world-balanced image and its output is
   * divided by the same gains. False or absent: one gain per image (weights made before it existed).
   * Why: the RVAE reproduces a crop's structure far better than its colour balance (its own reconstructions shift a
   * channel's share by up to ~30% before mean-colour matching). In a stage-1 A/B from scratch (tiny-vae-x2, 4 × 32²
   * crops, lr 1e-3, held-out 64² crops) per-channel gains reconstructed at 30.49 / 31.76 dB sRGB after matching at
   * 300 / 600 steps, against 29.09 / 27.92 with one gain per image (27.89 against 17.84 dB before matching).
   */
  exposurePerChannel?: boolean;
  /**
   * σ in pixels of the low-frequency colour fix (src/rddm/colour-fix.ts): the output's band below σ is replaced by
   * the input mosaic's local colour means. 0 or absent: off. An inference setting (rddm restore/eval --colour-fix
   * override it); when set during one-step training the pixel losses see the fixed image.
   */
  colourFixSigma?: number;
  /**
   * With colourFixSigma: the band between this σ and colourFixSigma is blended per pixel from the output's and the
   * mosaic's by a Wiener weight (src/rddm/colour-fix.ts) instead of kept from the output. 0 or absent: off.
   */
  colourFixBand?: number;
}

export const DEFAULT_RDDM_CONFIG: RddmConfig = { vae: 'tiny-vae', unet: 'tiny-unet', latentScale: 1, timestep: 999, loraRank: 4, compandEps: 1e-3, exposureTarget: 0.2, matchChannelMeans: true };

/** The gain range of the exposure normalisation: black frames are not amplified without bound. */
const MAX_EXPOSURE_GAIN = 256;
const MIN_EXPOSURE_GAIN = 1 / 16;

/** The exposure level of an image: (R + 2G + B) / 4 averaged for [N,3,H,W], the mean for a mosaic [N,1,H,W]. */
export function exposureLevel(x: Tensor): Tensor {
  return tidy(() => {
    if (x.ndim !== 4 || (x.shape[1] !== 3 && x.shape[1] !== 1)) throw new Error(`exposureLevel: expected [N,3,H,W] or [N,1,H,W], got [${x.shape.join(',')}]`);
    if (x.shape[1] === 1) return x.mean([1, 2, 3], true);
    return x.mul(tensor([0.25, 0.5, 0.25], [1, 3, 1, 1])).sum([1, 2, 3], true).mul(1 / (x.shape[2] * x.shape[3]));
  });
}

/** Mean of a mosaic [N,1,H,W]'s R, G and B sites, as [N,3,1,1]: an unbiased estimate of the image's mean colour. */
export function colourSiteMeans(mosaic: Tensor, pattern: BayerPattern): Tensor {
  return tidy(() => {
    // sparseRGB puts each site in its colour's plane (zeros elsewhere): R and B fill 1/4 of the sites, G 1/2.
    const [h, w] = [mosaic.shape[2], mosaic.shape[3]];
    return sparseRGB(mosaic, pattern).sum([2, 3], true).mul(tensor([4, 2, 4], [1, 3, 1, 1])).mul(1 / (h * w));
  });
}

/** g = target / level, clamped to [1/16, 256]; the same on the host for a whole image (restore). */
export function exposureGainOf(level: number, target: number): number {
  return Math.min(MAX_EXPOSURE_GAIN, Math.max(MIN_EXPOSURE_GAIN, target / Math.max(level, 1e-12)));
}

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
    return tidy(() => this.forwardSparse(sparseRGB(mosaic, pattern), pattern));
  }
  /** The same from the mosaic already spread into its colour planes (sparseRGB), e.g. after per-colour gains. */
  forwardSparse(sparse: Tensor, pattern: BayerPattern): Tensor {
    setBayerPattern(this, pattern);
    return tidy(() => {
      const moments = this.quant_conv.forward(this.encoder.forward(sparse));
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
    const vc = resolveModelConfig(config.vae, 'vae');
    const uc = resolveModelConfig(config.unet, 'unet');
    if (uc.inChannels !== vc.latentChannels || uc.outChannels !== vc.latentChannels) {
      throw new Error(`RDDM config: UNet ${configLabel(config.unet)} has ${uc.inChannels} input channels but VAE ${configLabel(config.vae)} has ${vc.latentChannels} latent channels`);
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

  /** Widens the CMB-LoRA of E_raw and the UNet to `rank` (config.loraRank) without changing any output. */
  growLora(rank: number): void {
    if (rank < this.config.loraRank) throw new Error(`growLora: these weights have CMB-LoRA rank ${this.config.loraRank}; it can grow, not shrink to ${rank}`);
    this.applyLora();
    growCmbLora(this.raw_encoder, rank);
    growCmbLora(this.unet, rank);
    (this.config as RddmConfig).loraRank = rank;
  }

  setPattern(pattern: BayerPattern): void {
    setBayerPattern(this.raw_encoder, pattern);
    if (this.loraApplied) setBayerPattern(this.unet, pattern);
  }

  /**
   * The exposure gain of a linear image [N,3,H,W] or a mosaic [N,1,H,W] (see RddmConfig.exposureTarget), a constant
   * for autograd: [N,1,1,1], or [N,3,1,1] with exposurePerChannel (a mosaic then needs its pattern); null when the
   * weights have no exposure normalisation.
   */
  exposureGain(x: Tensor, pattern?: BayerPattern): Tensor | null {
    const target = this.config.exposureTarget ?? 0;
    if (!target) return null;
    return tidy(() => {
      let level: Tensor;
      if (!this.config.exposurePerChannel) level = exposureLevel(x.detach());
      else if (x.shape[1] === 3) level = x.detach().mean([2, 3], true);
      else {
        if (!pattern) throw new Error('exposureGain: these weights use per-channel exposure gains (exposurePerChannel), so a mosaic [N,1,H,W] needs its Bayer pattern: pass it as the second argument');
        level = colourSiteMeans(x.detach(), pattern);
      }
      return level.clamp(target / MAX_EXPOSURE_GAIN, target / MIN_EXPOSURE_GAIN).reciprocal().mul(target);
    });
  }

  /** Camera-linear values → the RVAE's domain: × gain (exposure), then companding (see RddmConfig). */
  toModelDomain(x: Tensor, gain: Tensor | null = null): Tensor {
    const e = this.config.compandEps ?? 0;
    if (!e && !gain) return x;
    return tidy(() => {
      const y = gain ? x.mul(gain) : x;
      return e ? y.div(y.abs().add(e).sqrt().add(Math.sqrt(e))) : y;
    });
  }

  /** The RVAE's domain → camera-linear values (inverse of toModelDomain with the same gain). */
  fromModelDomain(u: Tensor, gain: Tensor | null = null): Tensor {
    const e = this.config.compandEps ?? 0;
    if (!e && !gain) return u;
    return tidy(() => {
      const y = e ? u.mul(u.abs().add(2 * Math.sqrt(e))) : u;
      return gain ? y.div(gain) : y;
    });
  }

  /** s · E_lin(x): diffusion latent of a linear image (posterior mean), at its own exposure gain unless given one. */
  linearLatent(x: Tensor, gain: Tensor | null = this.exposureGain(x)): Tensor {
    return tidy(() => {
      const m = this.vae.encodeMoments(this.toModelDomain(x, gain));
      return m.slice(1, 0, this.vae.config.latentChannels).mul(this.config.latentScale);
    });
  }

  /** s · E_raw(mosaic), at the mosaic's own exposure gain unless given one. */
  rawLatent(mosaic: Tensor, pattern: BayerPattern, gain: Tensor | null = this.exposureGain(mosaic, pattern)): Tensor {
    // Gain and companding act after the sites are spread into colour planes: both are pointwise and keep the empty
    // sites at 0, so this equals applying them to the mosaic, and a per-colour gain needs no per-site map.
    return tidy(() => this.raw_encoder.forwardSparse(this.toModelDomain(sparseRGB(mosaic, pattern), gain), pattern).mul(this.config.latentScale));
  }

  /**
   * D_lin(z / s): linear image of a diffusion latent. `gain` is the exposure gain its input was encoded with
   * (null: none); with exposure normalisation on it must be given, since the latent does not carry the level.
   */
  decodeLatent(z: Tensor, gain: Tensor | null | undefined): Tensor {
    if (gain === undefined && this.config.exposureTarget) throw new Error('internal: decodeLatent needs the exposure gain the latent was encoded with');
    return tidy(() => this.fromModelDomain(this.vae.decode(z.mul(1 / this.config.latentScale)), gain ?? null));
  }

  /**
   * `image` [N,3,H,W] with each channel scaled so its mean is the mean of `mosaic`'s sites of that colour (see
   * RddmConfig.matchChannelMeans); the ratio is clamped to [1/4, 4] so a near-black output is not blown up.
   */
  matchColour(image: Tensor, mosaic: Tensor, pattern: BayerPattern): Tensor {
    if (!this.config.matchChannelMeans) return image;
    return tidy(() => {
      const want = colourSiteMeans(mosaic.detach(), pattern);
      const have = image.mean([2, 3], true);
      return image.mul(want.add(1e-6).div(have.add(1e-6)).clamp(0.25, 4));
    });
  }

  /** The decoded image as the system outputs it: matchColour, then the low-frequency colour fix when configured. */
  finishImage(decoded: Tensor, mosaic: Tensor, pattern: BayerPattern): Tensor {
    const sigma = this.config.colourFixSigma ?? 0;
    return tidy(() => {
      const matched = this.matchColour(decoded, mosaic, pattern);
      return sigma > 0 ? colourFix(matched, mosaic, pattern, sigma, this.config.colourFixBand ?? 0) : matched;
    });
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
      const gain = this.exposureGain(mosaic, pattern);
      const zL = this.rawLatent(mosaic, pattern, gain);
      const zH = this.oneStepLatent(zL);
      return { zL, zH, image: this.finishImage(this.decodeLatent(zH, gain), mosaic, pattern) };
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
