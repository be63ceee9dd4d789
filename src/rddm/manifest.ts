// The weights manifest (manifest.json beside the safetensors files): the RDDM config and the sha256 and size of
// every file. It comes from disk, so it is validated field by field before a model is built from it: a bad
// manifest fails with a ConfigError naming the field, never with a crash or an absurdly large model.

import { ConfigCheck } from '../io/config-check.js';
import { MODEL_CONFIG_NAMES, configLabel, getModelConfig, validateUNetConfig, validateVaeConfig, type ModelConfigRef, type UNetConfig, type VaeConfig } from '../models/configs.js';
import type { RddmConfig } from './system.js';

export interface RddmManifest {
  format: 'rddm-weights-1';
  config: RddmConfig;
  files: Record<string, { sha256: string; bytes: number }>;
  [k: string]: unknown;
}

/** Timesteps of the noise schedule (src/rddm/schedule.ts). */
const SCHEDULE_STEPS = 1000;
const MAX_LORA_RANK = 256;
const MAX_FILES = 64;

const VAE_FIELDS = ['kind', 'inChannels', 'outChannels', 'latentChannels', 'blockOutChannels', 'layersPerBlock', 'normNumGroups', 'scalingFactor'] as const;
const UNET_FIELDS = ['kind', 'inChannels', 'outChannels', 'blockOutChannels', 'downBlockTypes', 'upBlockTypes', 'layersPerBlock', 'numAttentionHeads', 'crossAttentionDim', 'normNumGroups', 'normEps', 'flipSinToCos', 'freqShift', 'contextLength'] as const;

/**
 * A model config reference from a manifest: a built-in name, or an inline config (weights imported from a diffusers
 * folder whose architecture matches no built-in config), copied field by field and validated.
 */
function checkModelRef<C extends VaeConfig | UNetConfig>(v: unknown, k: ConfigCheck, field: string, kind: C['kind']): ModelConfigRef<C> {
  if (typeof v === 'string' || typeof v !== 'object' || v === null) return k.oneOf(v, field, MODEL_CONFIG_NAMES.filter((n) => getModelConfig(n).kind === kind));
  const o = k.object(v, field);
  const fields: readonly string[] = kind === 'vae' ? VAE_FIELDS : UNET_FIELDS;
  const extra = Object.keys(o).filter((f) => !fields.includes(f));
  if (extra.length) k.fail(`${field}.${extra[0]}`, `is not a ${kind === 'vae' ? 'VAE' : 'UNet'} config field`);
  const copy = Object.fromEntries(fields.map((f) => [f, o[f]])) as unknown as C;
  if (kind === 'vae') validateVaeConfig(copy as VaeConfig, `${k.source}: ${field}`);
  else validateUNetConfig(copy as UNetConfig, `${k.source}: ${field}`);
  return copy;
}

const resolved = <C extends VaeConfig | UNetConfig>(ref: ModelConfigRef<C>): C => (typeof ref === 'string' ? (getModelConfig(ref) as C) : ref);

/** A checked RddmConfig: model names that exist (or inline configs that validate) and fit together, and numbers in their ranges. */
export function checkRddmConfig(v: unknown, k: ConfigCheck, field = 'config'): RddmConfig {
  const o = k.object(v, field);
  const vae = checkModelRef<VaeConfig>(o.vae, k, `${field}.vae`, 'vae');
  const unet = checkModelRef<UNetConfig>(o.unet, k, `${field}.unet`, 'unet');
  const latent = resolved(vae).latentChannels;
  const uc = resolved(unet);
  if (uc.inChannels !== latent || uc.outChannels !== latent) {
    k.fail(`${field}.unet`, `${configLabel(unet)} has ${uc.inChannels} input channels but VAE ${configLabel(vae)} has ${latent} latent channels`);
  }
  // Fields this version does not know are kept (weights from a newer version may add some), checked ones replaced.
  const config: RddmConfig = {
    ...o,
    vae,
    unet,
    latentScale: k.number(o.latentScale, `${field}.latentScale`, 0, 1e6, true),
    timestep: k.int(o.timestep, `${field}.timestep`, 0, SCHEDULE_STEPS - 1),
    loraRank: k.int(o.loraRank, `${field}.loraRank`, 1, MAX_LORA_RANK),
  };
  if (o.compandEps !== undefined) config.compandEps = k.number(o.compandEps, `${field}.compandEps`, 0, 1);
  if (o.matchChannelMeans !== undefined) config.matchChannelMeans = k.boolean(o.matchChannelMeans, `${field}.matchChannelMeans`);
  if (o.exposurePerChannel !== undefined) config.exposurePerChannel = k.boolean(o.exposurePerChannel, `${field}.exposurePerChannel`);
  if (o.colourFixSigma !== undefined && o.colourFixSigma !== 0) config.colourFixSigma = k.number(o.colourFixSigma, `${field}.colourFixSigma`, 0.5, 64);
  if (o.colourFixBand !== undefined && o.colourFixBand !== 0) {
    config.colourFixBand = k.number(o.colourFixBand, `${field}.colourFixBand`, 0.5, 64);
    if (!(config.colourFixBand < (config.colourFixSigma ?? 0))) k.fail(`${field}.colourFixBand`, `must be below colourFixSigma (${config.colourFixSigma ?? 'absent'}), got ${config.colourFixBand}`);
  }
  if (o.exposureTarget !== undefined) config.exposureTarget = k.number(o.exposureTarget, `${field}.exposureTarget`, 0, 1);
  return config;
}

/** Parses and validates manifest.json; `source` names it in errors. */
export function parseRddmManifest(text: string, source: string): RddmManifest {
  const k = new ConfigCheck(source);
  const o = k.object(k.parseJson(text), 'manifest');
  const format = k.oneOf(o.format, 'format', ['rddm-weights-1']);
  const config = checkRddmConfig(o.config, k);
  const filesIn = k.object(o.files, 'files');
  const names = Object.keys(filesIn);
  if (names.length > MAX_FILES) k.fail('files', `lists ${names.length} files, more than ${MAX_FILES}`);
  const files: RddmManifest['files'] = {};
  for (const name of names) {
    const e = k.object(filesIn[name], `files['${name}']`);
    const sha256 = k.string(e.sha256, `files['${name}'].sha256`, 64);
    if (!/^[0-9a-f]{64}$/.test(sha256)) k.fail(`files['${name}'].sha256`, `must be 64 lower-case hex digits, got '${sha256}'`);
    files[name] = { sha256, bytes: k.int(e.bytes, `files['${name}'].bytes`, 0, Number.MAX_SAFE_INTEGER) };
  }
  return { ...o, format, config, files };
}
