/**
 * Reading diffusers folders: a single model folder (config.json + diffusion_pytorch_model.safetensors), a folder
 * `rddm export --to diffusers` wrote (or one trained further in PyTorch), or a plain diffusers pipeline such as
 * Stable Diffusion 2.1's (`unet/` and `vae/` are used). Platform-neutral: the caller supplies file access.
 *
 * For a folder without rddm.json the RDDM settings are the defaults (DEFAULT_RDDM_CONFIG) with the latent scale from
 * the VAE's scaling_factor, E_raw starts as a copy of E_lin (as stage 2 would start it), and the null-text context is
 * zeros unless a prompt embedding is given (SD 2.1's own for "" is what a user should bring: see the README).
 */

import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/scope.js';
import { noGrad } from '../autograd/graph.js';
import { zeros } from '../ops/creation.js';
import { assignInPlace, describeLoadReport, type Module } from '../nn/module.js';
import { loraLayers } from '../nn/lora.js';
import { openSafetensors, type ByteSource, type SafetensorsFile } from '../io/safetensors.js';
import { ConfigCheck } from '../io/config-check.js';
import { loadLora, loadWeights, readAll } from '../models/weights-io.js';
import { resolveModelConfig, type ModelConfigRef, type UNetConfig, type VaeConfig } from '../models/configs.js';
import { DEFAULT_CONTEXT_LENGTH, architectureKey, namedConfigFor, unetConfigFromDiffusers, vaeConfigFromDiffusers } from '../models/diffusers-config.js';
import { UNet2DConditionModel } from '../models/unet.js';
import { AutoencoderKL } from '../models/vae.js';
import { CMB_ADAPTERS } from '../models/cmb-lora.js';
import { loadPromptEmbedding } from '../models/text-context.js';
import { DEFAULT_RDDM_CONFIG, RddmSystem, type RddmConfig } from './system.js';
import { checkRddmConfig } from './manifest.js';
import { CONTEXT_FILE, RDDM_DIFFUSERS_FORMAT, WEIGHTS_FILE } from './diffusers-export.js';

/** File access relative to the folder being read. */
export interface FolderReader {
  /** Shown in messages (the folder's path). */
  readonly where: string;
  exists(path: string): Promise<boolean>;
  readText(path: string): Promise<string>;
  open(path: string): Promise<ByteSource & { close?(): Promise<void> }>;
}

async function withFile<T>(r: FolderReader, path: string, fn: (f: SafetensorsFile) => Promise<T>): Promise<T> {
  const src = await r.open(path);
  try {
    return await fn(await openSafetensors(src));
  } finally {
    await src.close?.();
  }
}

async function readJson(r: FolderReader, path: string): Promise<unknown> {
  return new ConfigCheck(`${r.where}/${path}`).parseJson(await r.readText(path));
}

/** The weights file of a model folder; diffusers' other layouts fail naming what to do. */
async function weightsFile(r: FolderReader, dir: string): Promise<string> {
  for (const name of [WEIGHTS_FILE, 'diffusion_pytorch_model.fp16.safetensors']) if (await r.exists(`${dir}/${name}`)) return `${dir}/${name}`;
  if (await r.exists(`${dir}/${WEIGHTS_FILE}.index.json`)) throw new Error(`${r.where}/${dir}: sharded safetensors (${WEIGHTS_FILE}.index.json) are not read; save the model with a larger max_shard_size`);
  if (await r.exists(`${dir}/diffusion_pytorch_model.bin`)) throw new Error(`${r.where}/${dir}: only safetensors are read, not PyTorch pickles (diffusion_pytorch_model.bin): re-save with save_pretrained(..., safe_serialization=True)`);
  throw new Error(`${r.where}/${dir}: no ${WEIGHTS_FILE}`);
}

/** Strict load of a model folder's weights into `model` (every key, every shape). */
async function loadFolderWeights(r: FolderReader, dir: string, model: Module): Promise<void> {
  await withFile(r, await weightsFile(r, dir), (f) => loadWeights(model, f, { strict: true }));
}

/** A diffusers model folder as our model: `dir/config.json` (UNet2DConditionModel or AutoencoderKL) and its weights. */
export async function loadDiffusersModel(r: FolderReader, dir: string, opts: { contextLength?: number } = {}): Promise<UNet2DConditionModel | AutoencoderKL> {
  const cfg = await readJson(r, `${dir}/config.json`);
  const cls = (cfg as { _class_name?: unknown })?._class_name;
  const source = `${r.where}/${dir}/config.json`;
  const model = cls === 'AutoencoderKL' ? new AutoencoderKL(vaeConfigFromDiffusers(cfg, source)) : new UNet2DConditionModel(unetConfigFromDiffusers(cfg, source, opts.contextLength));
  await loadFolderWeights(r, dir, model);
  return model;
}

/** Is this a diffusers folder rddm can read (a pipeline or an export with unet/config.json)? */
export async function isDiffusersFolder(r: FolderReader): Promise<boolean> {
  return r.exists('unet/config.json');
}

interface PeftConfig {
  r: number;
  alpha: number;
  targets: string[];
}

/** PEFT's adapter_config.json, accepted only for plain LoRA (what our LoRA layers compute). */
async function readPeftConfig(r: FolderReader, path: string): Promise<PeftConfig> {
  const k = new ConfigCheck(`${r.where}/${path}`);
  const o = k.object(await readJson(r, path), 'adapter_config');
  k.oneOf(o.peft_type, 'peft_type', ['LORA']);
  const must: [string, unknown][] = [['use_dora', false], ['use_rslora', false], ['bias', 'none'], ['fan_in_fan_out', false], ['modules_to_save', null], ['layers_to_transform', null], ['layer_replication', null]];
  for (const [field, value] of must) if (Object.hasOwn(o, field) && JSON.stringify(o[field]) !== JSON.stringify(value)) k.fail(field, `= ${JSON.stringify(o[field])} is not supported: rddm's LoRA layers implement ${JSON.stringify(value)}`);
  for (const field of ['rank_pattern', 'alpha_pattern']) if (Object.hasOwn(o, field) && Object.keys(k.object(o[field], field)).length) k.fail(field, 'must be empty: rddm uses one rank and alpha per adapter');
  const targets = k.array(o.target_modules, 'target_modules', 100_000).map((t, i) => k.string(t, `target_modules[${i}]`, 1000));
  return { r: k.int(o.r, 'r', 1, 4096), alpha: k.number(o.lora_alpha, 'lora_alpha', 0, 1e6, true), targets };
}

/** Loads one pattern's PEFT adapter into `model`'s CMB-LoRA layers; lora_alpha / r is folded into B. */
async function loadPeftAdapter(r: FolderReader, dir: string, pattern: string, model: Module, cfg: PeftConfig): Promise<void> {
  const wrapped = loraLayers(model).map(([p]) => p).sort();
  const given = [...cfg.targets].sort();
  const missing = wrapped.filter((p) => !given.includes(p));
  const extra = given.filter((p) => !wrapped.includes(p));
  if (missing.length || extra.length) {
    throw new Error(`${r.where}/${dir}/adapter_config.json: target_modules differ from rddm's CMB-LoRA layers${missing.length ? `; missing ${missing.slice(0, 4).join(', ')}${missing.length > 4 ? ', …' : ''}` : ''}${extra.length ? `; not CMB-LoRA targets: ${extra.slice(0, 4).join(', ')}${extra.length > 4 ? ', …' : ''}` : ''}`);
  }
  await withFile(r, `${dir}/adapter_model.safetensors`, (f) => loadLora(model, f, { adapter: pattern, strict: true }));
  const scale = cfg.alpha / cfg.r;
  if (scale !== 1) {
    // Our adapters were built with alpha = r: the file's scale goes into B (exact up to one rounding per value).
    for (const [, layer] of loraLayers(model)) {
      const B = layer.adapter(pattern).B.weight;
      noGrad(() => tidy(() => assignInPlace(B, B.mul(scale))));
    }
  }
}

/** The same rank in every adapter folder present (rddm's CMB-LoRA has one), or null when there are none. */
async function adapterConfigs(r: FolderReader): Promise<Map<string, PeftConfig> | null> {
  const found = new Map<string, PeftConfig>();
  for (const dir of ['unet_lora', 'raw_encoder_lora']) {
    for (const p of CMB_ADAPTERS) {
      const path = `${dir}/${p}/adapter_config.json`;
      if (await r.exists(path)) found.set(`${dir}/${p}`, await readPeftConfig(r, path));
    }
  }
  if (!found.size) return null;
  const want = CMB_ADAPTERS.flatMap((p) => [`unet_lora/${p}`, `raw_encoder_lora/${p}`]);
  const absent = want.filter((d) => !found.has(d));
  if (absent.length) throw new Error(`${r.where}: CMB-LoRA needs an adapter per Bayer pattern for the UNet and E_raw; missing ${absent.join(', ')}`);
  const ranks = new Set([...found.values()].map((c) => c.r));
  if (ranks.size !== 1) throw new Error(`${r.where}: the PEFT adapters have ranks ${[...ranks].join(', ')}; rddm's CMB-LoRA uses one rank for every layer and pattern`);
  return found;
}

/** Picks rddm.json's config reference when it names the same architecture as config.json, else a built-in or inline one. */
function pickRef<C extends UNetConfig | VaeConfig>(fromJson: C, declared: ModelConfigRef<C> | undefined, what: string, where: string): ModelConfigRef<C> {
  if (declared !== undefined) {
    const d = (fromJson.kind === 'vae' ? resolveModelConfig(declared as ModelConfigRef<VaeConfig>, 'vae') : resolveModelConfig(declared as ModelConfigRef<UNetConfig>, 'unet')) as C;
    const sameContext = fromJson.kind === 'vae' || (d as UNetConfig).contextLength === (fromJson as UNetConfig).contextLength;
    if (architectureKey(d) === architectureKey(fromJson) && sameContext) return declared;
    throw new Error(`${where}: ${what}/config.json describes another architecture than rddm.json's config.${fromJson.kind} (${typeof declared === 'string' ? declared : 'inline'}); edit neither by hand, or remove rddm.json to import the folder as a plain diffusers model`);
  }
  const name = namedConfigFor(fromJson);
  if (name && (fromJson.kind === 'vae' || (resolveModelConfig(name, 'unet').contextLength === (fromJson as UNetConfig).contextLength))) return name;
  return fromJson;
}

export interface ImportOptions {
  /** A prompt embedding ([tokens, dim] or [1, tokens, dim] safetensors) to use as the null-text context of a folder without one. */
  promptEmbeds?: SafetensorsFile;
}

/**
 * A diffusers folder as an RDDM system, with the manifest fields that rddm.json carried (stage, steps, seed): what
 * loadRddm gives for our own weights. An export of ours comes back bit for bit.
 */
export async function importDiffusers(r: FolderReader, opts: ImportOptions = {}): Promise<{ sys: RddmSystem; extras: Record<string, unknown> }> {
  if (!(await r.exists('unet/config.json')) || !(await r.exists('vae/config.json'))) throw new Error(`${r.where}: a diffusers folder needs unet/config.json and vae/config.json`);
  let declared: RddmConfig | undefined;
  let extras: Record<string, unknown> = {};
  if (await r.exists('rddm.json')) {
    const k = new ConfigCheck(`${r.where}/rddm.json`);
    const o = k.object(await readJson(r, 'rddm.json'), 'rddm.json');
    k.oneOf(o.format, 'format', [RDDM_DIFFUSERS_FORMAT]);
    declared = checkRddmConfig(o.config, k);
    extras = o.manifest === undefined ? {} : k.object(o.manifest, 'manifest');
  }
  // The context length comes from the null-text embedding when there is one (diffusers' config does not hold it).
  const hasContext = await r.exists(CONTEXT_FILE);
  const contextShape = hasContext ? await withFile(r, CONTEXT_FILE, async (f) => f.info('null_text_embedding').shape) : opts.promptEmbeds ? opts.promptEmbeds.info(opts.promptEmbeds.keys().includes('prompt_embeds') ? 'prompt_embeds' : opts.promptEmbeds.keys()[0]).shape : null;
  const declaredUnet = declared ? resolveModelConfig(declared.unet, 'unet') : undefined;
  const contextLength = contextShape ? contextShape[contextShape.length - 2] : declaredUnet?.contextLength ?? DEFAULT_CONTEXT_LENGTH;
  const uc = unetConfigFromDiffusers(await readJson(r, 'unet/config.json'), `${r.where}/unet/config.json`, contextLength);
  const vc = vaeConfigFromDiffusers(await readJson(r, 'vae/config.json'), `${r.where}/vae/config.json`);
  const hasRaw = await r.exists('raw_encoder/config.json');
  if (hasRaw) {
    const rc = vaeConfigFromDiffusers(await readJson(r, 'raw_encoder/config.json'), `${r.where}/raw_encoder/config.json`);
    if (architectureKey(rc) !== architectureKey(vc)) throw new Error(`${r.where}/raw_encoder/config.json: E_raw must have the RVAE's architecture (vae/config.json)`);
  }
  const adapters = await adapterConfigs(r);
  const config: RddmConfig = {
    ...(declared ?? DEFAULT_RDDM_CONFIG),
    unet: pickRef(uc, declared?.unet, 'unet', r.where),
    vae: pickRef(vc, declared?.vae, 'vae', r.where),
    latentScale: vc.scalingFactor,
  };
  if (adapters) config.loraRank = [...adapters.values()][0].r;
  const sys = new RddmSystem(config);
  await loadFolderWeights(r, 'unet', sys.unet);
  await loadFolderWeights(r, 'vae', sys.vae);
  if (hasRaw) await loadRawEncoder(r, sys);
  else copyEncoder(sys);
  if (hasContext) await withFile(r, CONTEXT_FILE, (f) => loadWeights(sys.context, f, { strict: true }));
  else if (opts.promptEmbeds) await setContext(sys, await loadPromptEmbedding(opts.promptEmbeds, uc));
  else await setContext(sys, zeros([1, uc.contextLength, uc.crossAttentionDim]));
  if (adapters) {
    sys.applyLora();
    for (const [dir, cfg] of adapters) {
      const [part, pattern] = dir.split('/');
      await loadPeftAdapter(r, dir, pattern, part === 'unet_lora' ? sys.unet : sys.raw_encoder, cfg);
    }
  }
  sys.freeze();
  sys.eval();
  return { sys, extras };
}

async function setContext(sys: RddmSystem, t: Tensor): Promise<void> {
  const p = sys.context.null_text_embedding;
  if (t.shape.length !== 3 || t.shape[0] !== 1 || t.shape[1] !== p.shape[1] || t.shape[2] !== p.shape[2]) throw new Error(`prompt embedding shape [${t.shape.join(',')}] should be [1, ${p.shape[1]}, ${p.shape[2]}]`);
  noGrad(() => tidy(() => assignInPlace(p, t)));
  t.dispose();
}

/** E_raw from raw_encoder/: its encoder and quant_conv; its decoder must be D_lin (vae/'s), which RDDM shares. */
async function loadRawEncoder(r: FolderReader, sys: RddmSystem): Promise<void> {
  const path = await weightsFile(r, 'raw_encoder');
  await withFile(r, path, async (f) => {
    const report = await loadWeights(sys.raw_encoder, f, { strict: false });
    const unexpected = report.unexpected.filter((k) => !k.startsWith('decoder.') && !k.startsWith('post_quant_conv.'));
    if (report.missing.length || report.mismatched.length || unexpected.length) throw new Error(`${r.where}/${path}: ${describeLoadReport({ ...report, unexpected })}`);
    // D_lin is one module in RDDM: a raw_encoder/ decoder that differs from vae/'s would be silently dropped.
    const dec = [...sys.vae.namedParameters()].filter(([k]) => report.unexpected.includes(k));
    const mine = await readAll(dec.map(([, t]) => t));
    for (const [i, [k]] of dec.entries()) {
      const theirs = await f.getFloat32(k);
      if (theirs.length !== mine[i].length || theirs.some((v, j) => !Object.is(v, mine[i][j]))) throw new Error(`${r.where}/${path}: '${k}' differs from vae/'s; E_raw decodes with the RVAE's own decoder D_lin, so raw_encoder/ must carry vae/'s decoder unchanged`);
    }
  });
}

/** E_raw starts as a copy of E_lin (as RVAE stage 2 starts it). */
function copyEncoder(sys: RddmSystem): void {
  const src = new Map(sys.vae.namedParameters());
  noGrad(() => tidy(() => {
    for (const [k, p] of sys.raw_encoder.namedParameters()) assignInPlace(p, src.get(k)!);
  }));
}
