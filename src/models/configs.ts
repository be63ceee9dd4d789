/**
 * Typed model configs, with every default in this one file. Field meanings follow diffusers' config.json
 * (camelCased), so a SD 2.1 `unet/config.json` or `vae/config.json` maps onto these by name.
 */

import { ConfigCheck } from '../io/config-check.js';

export type DownBlockType = 'CrossAttnDownBlock2D' | 'DownBlock2D';
export type UpBlockType = 'CrossAttnUpBlock2D' | 'UpBlock2D';

export interface UNetConfig {
  readonly kind: 'unet';
  readonly inChannels: number;
  readonly outChannels: number;
  readonly blockOutChannels: readonly number[];
  readonly downBlockTypes: readonly DownBlockType[];
  readonly upBlockTypes: readonly UpBlockType[];
  readonly layersPerBlock: number;
  /**
   * Attention heads per down block (the up blocks use them reversed, the mid block the last). diffusers' SD 2.x
   * config calls this list `attention_head_dim`, but the code uses it as the number of heads: 5×64 = 320.
   */
  readonly numAttentionHeads: readonly number[];
  readonly crossAttentionDim: number;
  readonly normNumGroups: number;
  /** Epsilon of the ResNet GroupNorms and conv_norm_out; Transformer2D's GroupNorm always uses 1e-6, as diffusers. */
  readonly normEps: number;
  readonly flipSinToCos: boolean;
  readonly freqShift: number;
  /** Tokens in the cross-attention context (77 for SD's text encoders); the null context has this length. */
  readonly contextLength: number;
}

export interface VaeConfig {
  readonly kind: 'vae';
  readonly inChannels: number;
  readonly outChannels: number;
  readonly latentChannels: number;
  /** One entry per resolution level; the image is downsampled 2^(levels-1) times. */
  readonly blockOutChannels: readonly number[];
  readonly layersPerBlock: number;
  readonly normNumGroups: number;
  /** Latents are multiplied by this before diffusion (SD 2.1: 0.18215). */
  readonly scalingFactor: number;
  /**
   * Self-attention in the encoder's and decoder's mid blocks (diffusers' `mid_block_add_attention`). Absent means
   * true, as in diffusers and every config before the lean family.
   */
  readonly midBlockAddAttention?: boolean;
}

export type ModelConfig = UNetConfig | VaeConfig;

const sd21Unet: UNetConfig = {
  kind: 'unet',
  inChannels: 4,
  outChannels: 4,
  blockOutChannels: [320, 640, 1280, 1280],
  downBlockTypes: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
  upBlockTypes: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
  layersPerBlock: 2,
  numAttentionHeads: [5, 10, 20, 20],
  crossAttentionDim: 1024,
  normNumGroups: 32,
  normEps: 1e-5,
  flipSinToCos: true,
  freqShift: 0,
  contextLength: 77,
};

const sd21Vae: VaeConfig = {
  kind: 'vae',
  inChannels: 3,
  outChannels: 3,
  latentChannels: 4,
  blockOutChannels: [128, 256, 512, 512],
  layersPerBlock: 2,
  normNumGroups: 32,
  scalingFactor: 0.18215,
};

/** Same code, a few channels: ×4 downsampling with 8 latent channels keeps the latent informative at tiny widths. */
const tinyVae: VaeConfig = {
  kind: 'vae',
  inChannels: 3,
  outChannels: 3,
  latentChannels: 8,
  blockOutChannels: [32, 64, 64],
  layersPerBlock: 1,
  normNumGroups: 8,
  scalingFactor: 1,
};

/**
 * tiny-vae with one level less: ×2 downsampling, so the latent keeps 2/3 of the image's numbers. At these widths the
 * ×4 latent caps reconstruction; in an equal-time A/B (750 steps of 4 × 32² crops, held-out 64² crops) this one
 * reconstructed 33.1 dB linear / SSIM 0.87 against 32.4 dB / 0.80, for no more time per step. The UNet then works
 * on latents twice as large per side.
 */
const tinyVaeX2: VaeConfig = { ...tinyVae, blockOutChannels: [32, 64] };

/**
 * tiny-vae-x2 with 16 latent channels (as SD3's VAE): 4 numbers per pixel instead of 2, so the latent is no longer a
 * bottleneck and the RVAE can approach an identity on linear images; the restorer then denoises and demosaics in a
 * space the decoder renders nearly losslessly.
 */
const tinyVaeX2L16: VaeConfig = { ...tinyVaeX2, latentChannels: 16 };

/** tiny-vae-x2-l16 at 1.5× the widths (2.25× the parameters and FLOPs). */
const miniVaeX2L16: VaeConfig = { ...tinyVaeX2L16, blockOutChannels: [48, 96] };

const tinyUnet: UNetConfig = {
  kind: 'unet',
  inChannels: 8,
  outChannels: 8,
  blockOutChannels: [32, 64],
  downBlockTypes: ['CrossAttnDownBlock2D', 'DownBlock2D'],
  upBlockTypes: ['UpBlock2D', 'CrossAttnUpBlock2D'],
  layersPerBlock: 1,
  numAttentionHeads: [2, 4],
  crossAttentionDim: 32,
  normNumGroups: 8,
  normEps: 1e-5,
  flipSinToCos: true,
  freqShift: 0,
  contextLength: 4,
};

/** tiny-unet for the 16-channel latents of tiny-vae-x2-l16 / mini-vae-x2-l16. */
const tinyUnetL16: UNetConfig = { ...tinyUnet, inChannels: 16, outChannels: 16 };

/**
 * The lean family: the tiny models with no attention at the latent's full resolution, sized for the one-step 256²
 * restore on lavapipe (≤ 4 s; issue 26). At 256² the ×2 latent is 128² = 16k tokens, and the tiny configs spent 77%
 * of a restore in five self-attentions over them (the VAE encoder's and decoder's mid blocks, the UNet's top down
 * block and its two top up blocks), global mixing a denoiser/demosaicer with a local task has little use for.
 * `scripts/ab-model-configs.sh` measured the candidates (weights/README.md has the table).
 */
/** tiny-vae-x2 without the mid blocks' self-attention (diffusers' mid_block_add_attention: false). */
const leanVaeX2: VaeConfig = { ...tinyVaeX2, midBlockAddAttention: false };

/**
 * lean-vae-x2 with 16 latent channels: 4 numbers per pixel instead of 2, more than the image's 3, so a trained latent
 * is no bottleneck. Every output goes through this decoder: with a perfect latent the shipped 8-channel system reaches
 * 36.4 dB sRGB on the validation crops (`rddm eval --methods ceiling`), 1.8 dB over classical, short of the +2 dB goal.
 */
const leanVaeX2L16: VaeConfig = { ...leanVaeX2, latentChannels: 16 };

/** lean-vae-x2-l16 at 1.5× the widths (2.25× the parameters and FLOPs). */
const leanVaeX2L16w: VaeConfig = { ...leanVaeX2L16, blockOutChannels: [48, 96] };

/** tiny-unet with its top level as DownBlock2D / UpBlock2D: attention only in the mid block, at 1/2 the latent size. */
const leanUnet2: UNetConfig = { ...tinyUnet, downBlockTypes: ['DownBlock2D', 'DownBlock2D'], upBlockTypes: ['UpBlock2D', 'UpBlock2D'] };

/** A third level of 128 channels under lean-unet-2: attention only in the mid block, at 1/4 the latent size. */
const leanUnet3: UNetConfig = {
  ...tinyUnet,
  blockOutChannels: [32, 64, 128],
  downBlockTypes: ['DownBlock2D', 'DownBlock2D', 'DownBlock2D'],
  upBlockTypes: ['UpBlock2D', 'UpBlock2D', 'UpBlock2D'],
  numAttentionHeads: [2, 4, 8],
};

/** lean-unet-3 with attention at its middle level as well (1/2 the latent size), as SD's UNet puts it. */
const leanUnet3a: UNetConfig = {
  ...leanUnet3,
  downBlockTypes: ['DownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
  upBlockTypes: ['UpBlock2D', 'CrossAttnUpBlock2D', 'UpBlock2D'],
};

/** lean-unet-3 for the 16-channel latents of lean-vae-x2-l16(w). */
const leanUnet3L16: UNetConfig = { ...leanUnet3, inChannels: 16, outChannels: 16 };

/** lean-unet-3 at 1.5× the widths. */
const leanUnet3w: UNetConfig = { ...leanUnet3, blockOutChannels: [48, 96, 192] };

const smallVae: VaeConfig = {
  kind: 'vae',
  inChannels: 3,
  outChannels: 3,
  latentChannels: 4,
  blockOutChannels: [64, 128, 256, 256],
  layersPerBlock: 2,
  normNumGroups: 32,
  scalingFactor: 0.18215,
};

const smallUnet: UNetConfig = {
  kind: 'unet',
  inChannels: 4,
  outChannels: 4,
  blockOutChannels: [128, 256, 512],
  downBlockTypes: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
  upBlockTypes: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
  layersPerBlock: 2,
  numAttentionHeads: [2, 4, 8],
  crossAttentionDim: 256,
  normNumGroups: 32,
  normEps: 1e-5,
  flipSinToCos: true,
  freqShift: 0,
  contextLength: 16,
};

export const MODEL_CONFIGS = {
  'sd21-unet': sd21Unet,
  'sd21-vae': sd21Vae,
  'small-unet': smallUnet,
  'small-vae': smallVae,
  'tiny-unet': tinyUnet,
  'tiny-vae': tinyVae,
  'tiny-vae-x2': tinyVaeX2,
  'tiny-vae-x2-l16': tinyVaeX2L16,
  'mini-vae-x2-l16': miniVaeX2L16,
  'tiny-unet-l16': tinyUnetL16,
  'lean-vae-x2': leanVaeX2,
  'lean-unet-2': leanUnet2,
  'lean-unet-3': leanUnet3,
  'lean-unet-3a': leanUnet3a,
  'lean-unet-3w': leanUnet3w,
  'lean-vae-x2-l16': leanVaeX2L16,
  'lean-vae-x2-l16w': leanVaeX2L16w,
  'lean-unet-3-l16': leanUnet3L16,
} as const satisfies Record<string, ModelConfig>;

export type ModelConfigName = keyof typeof MODEL_CONFIGS;
export const MODEL_CONFIG_NAMES = Object.keys(MODEL_CONFIGS) as ModelConfigName[];

export function getModelConfig(name: string): ModelConfig {
  // Own keys only: a name like 'constructor' must not find Object.prototype's.
  const c = Object.hasOwn(MODEL_CONFIGS, name) ? (MODEL_CONFIGS as Record<string, ModelConfig>)[name] : undefined;
  if (!c) throw new Error(`unknown model config '${name}'; known: ${MODEL_CONFIG_NAMES.join(', ')}`);
  return c;
}

/**
 * Limits on config values, far above every real model (SD 2.1 uses 4 levels, 1280 channels, 20 heads) but low
 * enough that a corrupt or hostile config cannot ask for a model that takes hours just to construct.
 */
const LIMITS = { levels: 8, channels: 8192, layersPerBlock: 16, heads: 256, ioChannels: 256, contextLength: 4096 } as const;

/** Checks every field the model code reads and the invariants it relies on; errors name the field to change. */
export function validateUNetConfig(c: UNetConfig, source = 'UNet config'): void {
  const k = new ConfigCheck(source);
  const o = k.object(c, 'config');
  k.oneOf(o.kind, 'kind', ['unet']);
  k.int(o.inChannels, 'inChannels', 1, LIMITS.ioChannels);
  k.int(o.outChannels, 'outChannels', 1, LIMITS.ioChannels);
  const channels = k.array(o.blockOutChannels, 'blockOutChannels', LIMITS.levels).map((v, i) => k.int(v, `blockOutChannels[${i}]`, 1, LIMITS.channels));
  const n = channels.length;
  if (n < 1) k.fail('blockOutChannels', 'needs at least one level');
  const down = k.array(o.downBlockTypes, 'downBlockTypes', LIMITS.levels).map((v, i) => k.oneOf(v, `downBlockTypes[${i}]`, ['CrossAttnDownBlock2D', 'DownBlock2D']));
  const up = k.array(o.upBlockTypes, 'upBlockTypes', LIMITS.levels).map((v, i) => k.oneOf(v, `upBlockTypes[${i}]`, ['CrossAttnUpBlock2D', 'UpBlock2D']));
  const heads = k.array(o.numAttentionHeads, 'numAttentionHeads', LIMITS.levels).map((v, i) => k.int(v, `numAttentionHeads[${i}]`, 1, LIMITS.heads));
  if (down.length !== n || up.length !== n || heads.length !== n) {
    k.fail('', `blockOutChannels, downBlockTypes, upBlockTypes and numAttentionHeads need one entry per level (${n}); got ${down.length}, ${up.length}, ${heads.length}`);
  }
  k.int(o.layersPerBlock, 'layersPerBlock', 1, LIMITS.layersPerBlock);
  k.int(o.crossAttentionDim, 'crossAttentionDim', 1, LIMITS.channels);
  const groups = k.int(o.normNumGroups, 'normNumGroups', 1, LIMITS.channels);
  k.number(o.normEps, 'normEps', 0, 1, true);
  k.boolean(o.flipSinToCos, 'flipSinToCos');
  k.number(o.freqShift, 'freqShift', -1e3, 1e3);
  k.int(o.contextLength, 'contextLength', 1, LIMITS.contextLength);
  for (const [i, ch] of channels.entries()) {
    if (ch % groups) k.fail(`blockOutChannels[${i}]`, `= ${ch} is not divisible by normNumGroups = ${groups}`);
    if (ch % heads[i]!) k.fail(`blockOutChannels[${i}]`, `= ${ch} is not divisible by numAttentionHeads[${i}] = ${heads[i]}`);
  }
}

export function validateVaeConfig(c: VaeConfig, source = 'VAE config'): void {
  const k = new ConfigCheck(source);
  const o = k.object(c, 'config');
  k.oneOf(o.kind, 'kind', ['vae']);
  k.int(o.inChannels, 'inChannels', 1, LIMITS.ioChannels);
  k.int(o.outChannels, 'outChannels', 1, LIMITS.ioChannels);
  k.int(o.latentChannels, 'latentChannels', 1, LIMITS.ioChannels);
  const channels = k.array(o.blockOutChannels, 'blockOutChannels', LIMITS.levels).map((v, i) => k.int(v, `blockOutChannels[${i}]`, 1, LIMITS.channels));
  if (channels.length < 1) k.fail('blockOutChannels', 'needs at least one level');
  k.int(o.layersPerBlock, 'layersPerBlock', 1, LIMITS.layersPerBlock);
  const groups = k.int(o.normNumGroups, 'normNumGroups', 1, LIMITS.channels);
  k.number(o.scalingFactor, 'scalingFactor', 0, 1e6, true);
  if (o.midBlockAddAttention !== undefined) k.boolean(o.midBlockAddAttention, 'midBlockAddAttention');
  for (const [i, ch] of channels.entries()) {
    if (ch % groups) k.fail(`blockOutChannels[${i}]`, `= ${ch} is not divisible by normNumGroups = ${groups}`);
  }
}

/** A model config by name ('sd21-unet') or inline (an imported diffusers config that matches no built-in one). */
export type ModelConfigRef<C extends ModelConfig = ModelConfig> = string | C;

/** How a config reference reads in messages: its name, or "inline <kind> config". */
export function configLabel(ref: ModelConfigRef): string {
  return typeof ref === 'string' ? `'${ref}'` : `inline ${ref.kind === 'vae' ? 'VAE' : 'UNet'} config`;
}

/** The config a reference stands for, checked to be of `kind` (a named config must exist; an inline one is validated). */
export function resolveModelConfig(ref: ModelConfigRef<VaeConfig>, kind: 'vae'): VaeConfig;
export function resolveModelConfig(ref: ModelConfigRef<UNetConfig>, kind: 'unet'): UNetConfig;
export function resolveModelConfig(ref: ModelConfigRef, kind: 'vae' | 'unet'): ModelConfig {
  const c = typeof ref === 'string' ? getModelConfig(ref) : ref;
  if (c.kind !== kind) throw new Error(`${configLabel(ref)} is a ${c.kind === 'vae' ? 'VAE' : 'UNet'} config; a ${kind === 'vae' ? 'VAE' : 'UNet'} config is needed here`);
  if (typeof ref !== 'string') {
    if (c.kind === 'vae') validateVaeConfig(c);
    else validateUNetConfig(c);
  }
  return c;
}

/** The factor between image and latent size: 2^(levels-1) (8 for SD 2.1's VAE). */
export function vaeDownscale(c: VaeConfig): number {
  return 2 ** (c.blockOutChannels.length - 1);
}
