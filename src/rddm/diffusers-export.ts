/**
 * `rddm export --to diffusers`: RDDM weights as folders that diffusers and PEFT open in PyTorch, for users who continue
 * on more GPUs than WebGPU can drive (it has no multi-GPU collectives) and come back with the weights.
 *
 *   unet/               UNet2DConditionModel: config.json + diffusion_pytorch_model.safetensors (base weights)
 *   vae/                AutoencoderKL: E_lin + D_lin (the RVAE); scaling_factor = RDDM's latent scale
 *   raw_encoder/        AutoencoderKL whose encoder (and quant_conv) is E_raw's base weights and whose decoder is D_lin
 *   unet_lora/P/        PEFT LoRA adapter for Bayer pattern P: adapter_config.json + adapter_model.safetensors
 *   raw_encoder_lora/P/ the same for E_raw
 *   null_text_embedding.safetensors  the learned cross-attention context [1, tokens, dim]
 *   scheduler/          DDPMScheduler config of the noise schedule
 *   rddm.json, README.md
 *
 * Platform-neutral: the caller says how a file is written (`write('unet/config.json', chunks)`).
 */

import type { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import { loraLayers } from '../nn/lora.js';
import { baseParameters, readAll, saveLora, saveWeights } from '../models/weights-io.js';
import { resolveModelConfig, type UNetConfig, type VaeConfig } from '../models/configs.js';
import { unetConfigToDiffusers, vaeConfigToDiffusers } from '../models/diffusers-config.js';
import { AutoencoderKL } from '../models/vae.js';
import { UNet2DConditionModel } from '../models/unet.js';
import { CMB_ADAPTERS } from '../models/cmb-lora.js';
import { serializeSafetensors, type TensorToWrite } from '../io/safetensors.js';
import type { RddmSystem, RddmConfig } from './system.js';
import { diffusersReadme } from './diffusers-readme.js';

export type WriteFile = (path: string, chunks: Uint8Array[]) => Promise<void>;

/** The format tag of rddm.json. */
export const RDDM_DIFFUSERS_FORMAT = 'rddm-diffusers-1';
export const WEIGHTS_FILE = 'diffusion_pytorch_model.safetensors';
export const CONTEXT_FILE = 'null_text_embedding.safetensors';

const text = (s: string): Uint8Array[] => [new TextEncoder().encode(s)];
const json = (o: unknown): Uint8Array[] => text(JSON.stringify(o, null, 2) + '\n');

/** Tensors by name as one safetensors file (F32, diffusers' `format: pt` metadata). */
async function serializeNamed(entries: readonly [string, Tensor][]): Promise<Uint8Array[]> {
  const data = await readAll(entries.map(([, t]) => t));
  const out: Record<string, TensorToWrite> = Object.fromEntries(entries.map(([k, t], i) => [k, { dtype: 'F32', shape: t.shape, data: data[i] }]));
  return serializeSafetensors(out, { format: 'pt' });
}

/** A standalone UNet or VAE as a diffusers model folder (`dir/config.json`, `dir/diffusion_pytorch_model.safetensors`). */
export async function exportDiffusersModel(model: UNet2DConditionModel | AutoencoderKL, dir: string, write: WriteFile, opts: { scalingFactor?: number } = {}): Promise<void> {
  const config = model instanceof UNet2DConditionModel ? unetConfigToDiffusers(model.config) : vaeConfigToDiffusers(model.config, opts.scalingFactor);
  await write(`${dir}/config.json`, json(config));
  await write(`${dir}/${WEIGHTS_FILE}`, await saveWeights(model));
}

/**
 * PEFT's LoraConfig as `save_pretrained` writes it (PEFT 0.13's fields: later releases read them too). target_modules
 * lists full module paths, which PEFT matches exactly; lora_alpha / r is the scale, as in our LoRA layers.
 */
export function peftAdapterConfig(targets: readonly string[], r: number, alpha: number): Record<string, unknown> {
  return {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: null,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layer_replication: null,
    layers_pattern: null,
    layers_to_transform: null,
    loftq_config: {},
    lora_alpha: alpha,
    lora_dropout: 0.0,
    megatron_config: null,
    megatron_core: 'megatron.core',
    modules_to_save: null,
    peft_type: 'LORA',
    r,
    rank_pattern: {},
    revision: null,
    target_modules: [...targets].sort(),
    task_type: null,
    use_dora: false,
    use_rslora: false,
  };
}

/** One PEFT adapter folder per Bayer pattern: keys `base_model.model.<module>.lora_A.weight` / `lora_B`. */
async function exportPeftAdapters(model: Module, dir: string, write: WriteFile): Promise<void> {
  const layers = loraLayers(model);
  const targets = layers.map(([path]) => path);
  for (const pattern of CMB_ADAPTERS) {
    const ranks = new Set(layers.map(([, l]) => `${l.adapter(pattern).rank}/${l.adapter(pattern).alpha}`));
    if (ranks.size !== 1) throw new Error(`export: the ${pattern} adapters of ${dir} differ in rank or alpha between layers (${[...ranks].join(', ')}); PEFT's LoraConfig holds one`);
    const [r, alpha] = [...ranks][0].split('/').map(Number);
    await write(`${dir}/${pattern}/adapter_config.json`, json(peftAdapterConfig(targets, r, alpha)));
    await write(`${dir}/${pattern}/adapter_model.safetensors`, await saveLora(model, { adapters: [pattern], stripAdapterName: true, prefix: 'base_model.model.' }));
  }
}

/** The RDDM settings PyTorch code needs besides the weights (rddm.json). */
export function rddmJson(config: RddmConfig, extras: Record<string, unknown>): Record<string, unknown> {
  return {
    format: RDDM_DIFFUSERS_FORMAT,
    config,
    manifest: extras,
    schedule: { beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, num_train_timesteps: 1000, prediction_type: 'epsilon' },
  };
}

/** DDPMScheduler's config for our noise schedule (src/rddm/schedule.ts). */
const SCHEDULER_CONFIG = {
  _class_name: 'DDPMScheduler',
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  beta_start: 0.00085,
  clip_sample: false,
  num_train_timesteps: 1000,
  prediction_type: 'epsilon',
  steps_offset: 1,
};

/** Writes the whole system (see the file comment). `extras` are the weights manifest's other fields (stage, steps, seed). */
export async function exportDiffusers(sys: RddmSystem, write: WriteFile, extras: Record<string, unknown> = {}): Promise<string[]> {
  const written: string[] = [];
  const w: WriteFile = async (path, chunks) => {
    written.push(path);
    await write(path, chunks);
  };
  const c = sys.config;
  const vc: VaeConfig = resolveModelConfig(c.vae, 'vae');
  const uc: UNetConfig = resolveModelConfig(c.unet, 'unet');
  await w('unet/config.json', json(unetConfigToDiffusers(uc)));
  await w(`unet/${WEIGHTS_FILE}`, await saveWeights(sys.unet));
  await w('vae/config.json', json(vaeConfigToDiffusers(vc, c.latentScale)));
  await w(`vae/${WEIGHTS_FILE}`, await saveWeights(sys.vae));
  // E_raw as an AutoencoderKL: its own encoder and quant_conv, the RVAE's decoder (D_lin is shared and frozen).
  const decoder = [...baseParameters(sys.vae)].filter(([k]) => k.startsWith('decoder.') || k.startsWith('post_quant_conv.'));
  await w('raw_encoder/config.json', json(vaeConfigToDiffusers(vc, c.latentScale)));
  await w(`raw_encoder/${WEIGHTS_FILE}`, await serializeNamed([...baseParameters(sys.raw_encoder), ...decoder]));
  if (loraLayers(sys.unet).length) await exportPeftAdapters(sys.unet, 'unet_lora', w);
  if (loraLayers(sys.raw_encoder).length) await exportPeftAdapters(sys.raw_encoder, 'raw_encoder_lora', w);
  await w(CONTEXT_FILE, await saveWeights(sys.context));
  await w('scheduler/scheduler_config.json', json(SCHEDULER_CONFIG));
  await w('rddm.json', json(rddmJson(c, extras)));
  await w('README.md', text(diffusersReadme(c, uc, vc, loraLayers(sys.unet).length > 0)));
  return written;
}
