/**
 * Typed model configs, with every default in this one file. Field meanings follow diffusers' config.json
 * (camelCased), so a SD 2.1 `unet/config.json` or `vae/config.json` maps onto these by name.
 */

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
} as const satisfies Record<string, ModelConfig>;

export type ModelConfigName = keyof typeof MODEL_CONFIGS;
export const MODEL_CONFIG_NAMES = Object.keys(MODEL_CONFIGS) as ModelConfigName[];

export function getModelConfig(name: string): ModelConfig {
  const c = (MODEL_CONFIGS as Record<string, ModelConfig>)[name];
  if (!c) throw new Error(`unknown model config '${name}'; known: ${MODEL_CONFIG_NAMES.join(', ')}`);
  return c;
}

/** Checks the invariants the model code relies on, naming the field to change. */
export function validateUNetConfig(c: UNetConfig): void {
  const n = c.blockOutChannels.length;
  const fail = (msg: string) => {
    throw new Error(`UNet config: ${msg}`);
  };
  if (c.downBlockTypes.length !== n || c.upBlockTypes.length !== n || c.numAttentionHeads.length !== n) {
    fail(`blockOutChannels, downBlockTypes, upBlockTypes and numAttentionHeads need one entry per level (${n}); got ${c.downBlockTypes.length}, ${c.upBlockTypes.length}, ${c.numAttentionHeads.length}`);
  }
  for (const [i, ch] of c.blockOutChannels.entries()) {
    if (ch % c.normNumGroups) fail(`blockOutChannels[${i}] = ${ch} is not divisible by normNumGroups = ${c.normNumGroups}`);
    if (ch % c.numAttentionHeads[i]) fail(`blockOutChannels[${i}] = ${ch} is not divisible by numAttentionHeads[${i}] = ${c.numAttentionHeads[i]}`);
  }
}

export function validateVaeConfig(c: VaeConfig): void {
  for (const [i, ch] of c.blockOutChannels.entries()) {
    if (ch % c.normNumGroups) throw new Error(`VAE config: blockOutChannels[${i}] = ${ch} is not divisible by normNumGroups = ${c.normNumGroups}`);
  }
  if (c.blockOutChannels.length < 1) throw new Error('VAE config: blockOutChannels needs at least one level');
}

/** The factor between image and latent size: 2^(levels-1) (8 for SD 2.1's VAE). */
export function vaeDownscale(c: VaeConfig): number {
  return 2 ** (c.blockOutChannels.length - 1);
}
