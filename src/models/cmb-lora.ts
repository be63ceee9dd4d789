import type { Module } from '../nn/module.js';
import type { Linear } from '../nn/linear.js';
import type { Conv2d } from '../nn/conv2d.js';
import { loraLayers, loraMaxRank, loraTargets, setActiveAdapter, wrapWithLoRA, type LoRAOptions } from '../nn/lora.js';
import { BAYER_PATTERNS, assertBayerPattern, type BayerPattern } from '../raw/bayer-pattern.js';
import { UNet2DConditionModel } from './unet.js';
import { AutoencoderKL } from './vae.js';

/**
 * CMB-LoRA (colour-mosaic-Bayer LoRA): one low-rank adapter per Bayer pattern on the layers that see the mosaic's
 * layout, named after the pattern (`…to_q.lora_A.GRBG.weight`). The pattern of the input picks the adapter at run
 * time; base weights stay frozen, so the four patterns share everything else.
 */
export const CMB_ADAPTERS: readonly BayerPattern[] = BAYER_PATTERNS;

export interface CmbLoraOptions extends LoRAOptions {
  /** Which Linear/Conv2d layers to wrap, by dotted path; default: cmbLoraTargets(model). */
  select?: (path: string, layer: Linear | Conv2d) => boolean;
  /** Freeze every existing parameter of the model first (default true): only the adapters train. */
  freezeBase?: boolean;
  /** Pattern active after wrapping (default the first, RGGB). */
  initialPattern?: BayerPattern;
}

export interface CmbLoraInfo {
  /** Wrapped layer paths. */
  paths: string[];
  rank: number;
  /** Parameters of all four adapters together. */
  loraParameters: number;
  /** Parameters that receive gradients after wrapping (the adapters, when freezeBase). */
  trainableParameters: number;
}

const UNET_ATTENTION = /\.attn[12]\.(to_q|to_k|to_v|to_out\.0)$/;
const UNET_FF = /\.ff\.net\.(0\.proj|2)$/;
const UNET_RESNET_CONV = /\.resnets\.\d+\.conv[12]$/;

/**
 * The default CMB-LoRA targets. UNet: transformer attention q/k/v/out, feed-forward projections, ResNet conv1/conv2
 * and conv_in. RVAE: every conv of the encoder (stage 2 adapts E to the mosaic; the decoder stays frozen).
 */
export function cmbLoraTargets(model: Module): (path: string, layer: Linear | Conv2d) => boolean {
  if (model instanceof UNet2DConditionModel) {
    return (p) => p === 'conv_in' || UNET_ATTENTION.test(p) || UNET_FF.test(p) || UNET_RESNET_CONV.test(p);
  }
  if (model instanceof AutoencoderKL) {
    return (p, layer) => p.startsWith('encoder.') && (layer.weight.ndim === 4);
  }
  throw new Error('cmbLoraTargets: pass `select` for models other than UNet2DConditionModel and AutoencoderKL');
}

/** Wraps the model's target layers with the four Bayer-pattern adapters (default rank 4) and activates one. */
export function applyCmbLora(model: Module, opts: CmbLoraOptions = {}): CmbLoraInfo {
  const rank = opts.rank ?? 4;
  const select = opts.select ?? cmbLoraTargets(model);
  checkRankFits('applyCmbLora', loraTargets(model, select).map(([path, layer]) => [path, layer.weight.shape]), rank);
  if (opts.freezeBase ?? true) model.freeze();
  const paths = wrapWithLoRA(model, select, CMB_ADAPTERS, { rank, alpha: opts.alpha ?? rank });
  if (!paths.length) throw new Error('applyCmbLora: no layer matched the selection; nothing was wrapped');
  setBayerPattern(model, opts.initialPattern ?? CMB_ADAPTERS[0]);
  return { paths, rank, loraParameters: cmbLoraParameterCount(model), trainableParameters: model.parameterCount(true) };
}

/**
 * Refuses a rank above what one of the layers can use (loraMaxRank) before any layer changes: weights trained at such
 * a rank could not be loaded again, and a half-wrapped or half-grown model is no use either.
 */
function checkRankFits(op: string, layers: [string, readonly number[]][], rank: number): void {
  for (const [path, shape] of layers) {
    const max = loraMaxRank(shape);
    if (rank > max) throw new Error(`${op}: rank ${rank} exceeds ${max}, the most layer '${path}' (weight [${shape.join(',')}]) can use; use a rank of at most ${max}`);
  }
}

/** Grows every adapter of every LoRA layer under `model` to `rank` (LoRALayer.growAdapter: outputs unchanged). */
export function growCmbLora(model: Module, rank: number): void {
  const layers = loraLayers(model);
  checkRankFits('growCmbLora', layers.map(([path, l]) => [path, l.base.weight.shape]), rank);
  for (const [, layer] of layers) for (const name of layer.adapterNames) layer.growAdapter(name, rank);
}

/** Activates the adapter of `pattern` in every CMB-LoRA layer (null: base weights only, e.g. for stage 1). */
export function setBayerPattern(model: Module, pattern: BayerPattern | null): void {
  if (pattern !== null) assertBayerPattern('setBayerPattern', pattern);
  setActiveAdapter(model, pattern);
}

/** Parameters held by LoRA adapters (all patterns). */
export function cmbLoraParameterCount(model: Module): number {
  let n = 0;
  for (const [, layer] of loraLayers(model)) for (const [, m] of layer.children()) n += m.parameterCount();
  return n;
}
