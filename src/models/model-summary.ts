import { withMetaTensors } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import { MODEL_CONFIGS, getModelConfig, vaeDownscale, type ModelConfig } from './configs.js';
import { UNet2DConditionModel } from './unet.js';
import { AutoencoderKL } from './vae.js';
import { applyCmbLora } from './cmb-lora.js';
import { estimateUNetActivations, estimateVaeActivations, type ActivationEstimate } from './activation-estimate.js';

/** Builds the model for a config (real tensors, or shape-only meta tensors under withMetaTensors). */
export function buildModel(config: ModelConfig): UNet2DConditionModel | AutoencoderKL {
  return config.kind === 'unet' ? new UNet2DConditionModel(config) : new AutoencoderKL(config);
}

export interface BlockCount {
  name: string;
  parameters: number;
  tensors: number;
}

export interface ModelSummary {
  config: string;
  kind: ModelConfig['kind'];
  parameters: number;
  trainable: number;
  tensors: number;
  blocks: BlockCount[];
  cmbLora: { rank: number; layers: number; parameters: number; perPattern: number };
  /** Image size the activation estimate is for, and the latent size the UNet sees there. */
  resolution: { image: [number, number]; latent: [number, number]; batch: number };
  activations: ActivationEstimate;
}

/** Top-level grouping: `down_blocks.1`, `mid_block`, `conv_in`, … (one level deeper under a VAE's encoder/decoder). */
function blockOf(name: string, kind: ModelConfig['kind']): string {
  const parts = name.split('.');
  const depth = kind === 'vae' && (parts[0] === 'encoder' || parts[0] === 'decoder') ? 1 : 0;
  const head = parts.slice(0, depth + 1);
  if (/^\d+$/.test(parts[depth + 1] ?? '')) head.push(parts[depth + 1]);
  return head.join('.');
}

export function countBlocks(model: Module, kind: ModelConfig['kind']): BlockCount[] {
  const out = new Map<string, BlockCount>();
  for (const [name, p] of model.namedParameters()) {
    const b = blockOf(name, kind);
    const e = out.get(b) ?? { name: b, parameters: 0, tensors: 0 };
    e.parameters += p.size;
    e.tensors++;
    out.set(b, e);
  }
  return [...out.values()];
}

/**
 * Parameter counts, per-block counts, CMB-LoRA size and activation memory for a named config, computed on a
 * meta-tensor model: nothing is allocated on the GPU (and no GPU is needed). `size` is the image side in pixels.
 */
export function summarizeModel(name: string, opts: { size?: number; batch?: number; loraRank?: number } = {}): ModelSummary {
  const config = getModelConfig(name);
  const size = opts.size ?? 512;
  const batch = opts.batch ?? 1;
  // A UNet's latent is the image divided by its paired VAE's factor (tiny-unet ↔ tiny-vae is ×4, SD's ×8).
  const paired = (MODEL_CONFIGS as Record<string, ModelConfig>)[name.replace(/-unet$/, '-vae')];
  const f = config.kind === 'vae' ? vaeDownscale(config) : paired?.kind === 'vae' ? vaeDownscale(paired) : 8;
  if (!Number.isInteger(size) || size <= 0) throw new Error(`model summary: size must be a positive integer, got ${size}`);
  return withMetaTensors(() => {
    const model = buildModel(config);
    const parameters = model.parameterCount();
    const trainable = model.parameterCount(true);
    const tensors = model.parameters().length;
    const blocks = countBlocks(model, config.kind);
    const rank = opts.loraRank ?? 4;
    const lora = applyCmbLora(model, { rank });
    const latent = Math.floor(size / f);
    let activations: ActivationEstimate;
    if (config.kind === 'unet') {
      const m = 2 ** (config.blockOutChannels.length - 1);
      if (latent % m) throw new Error(`model summary: ${size}px gives a ${latent}px latent (÷${f}), which must be a multiple of ${m} for this UNet; pick a size that is a multiple of ${f * m}`);
      activations = estimateUNetActivations(config, latent, latent, batch);
    } else {
      if (size % f) throw new Error(`model summary: size ${size} must be a multiple of the VAE factor ${f}`);
      activations = estimateVaeActivations(config, size, size, batch);
    }
    return {
      config: name,
      kind: config.kind,
      parameters,
      trainable,
      tensors,
      blocks,
      cmbLora: { rank, layers: lora.paths.length, parameters: lora.loraParameters, perPattern: lora.loraParameters / 4 },
      resolution: { image: [size, size], latent: [latent, latent], batch },
      activations,
    };
  });
}
