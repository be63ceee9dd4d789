import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/scope.js';
import { noGrad } from '../autograd/graph.js';
import { tensor } from '../ops/creation.js';
import { concat } from '../ops/shape-ops.js';
import { type Module, assignInPlace, describeLoadReport, type LoadReport } from '../nn/module.js';
import { Linear } from '../nn/linear.js';
import { Conv2d } from '../nn/conv2d.js';
import { LoRAConv2d, LoRALinear, isLoRALayer, loraLayers, loraMaxRank, replaceModule, type LoRALayer } from '../nn/lora.js';
import { isFloatDtype, serializeSafetensors, SafetensorsError, type FloatDtype, type SafetensorsFile, type TensorToWrite } from '../io/safetensors.js';

/** Parameter names of LoRA adapters (`….lora_A.<adapter>.weight`), kept out of base-weight files. */
const LORA_PARAM = /\.lora_[AB]\.[^.]+\.weight$/;

/** The model's base (non-LoRA) parameters by diffusers name. */
export function baseParameters(model: Module): Map<string, Tensor> {
  return new Map(model.namedParameters().filter(([k]) => !LORA_PARAM.test(k)));
}

/**
 * Maps a file key to this codebase's (current diffusers') name. SD 2.x VAE files published before diffusers 0.14
 * name the mid-block attention query/key/value/proj_attn; diffusers renames them on load, and so do we.
 */
function canonicalName(key: string): string {
  return key.replace(/\.attentions\.(\d+)\.(query|key|value|proj_attn)\.(weight|bias)$/, (_, i: string, which: string, kind: string) => {
    const to = { query: 'to_q', key: 'to_k', value: 'to_v', proj_attn: 'to_out.0' }[which as 'query'];
    return `.attentions.${i}.${to}.${kind}`;
  });
}

export interface LoadWeightsOptions {
  /** Throw (default) listing missing, unexpected and mismatched keys before any weight is touched. */
  strict?: boolean;
  /** Read only keys under this prefix, with it removed (e.g. 'unet.' in a combined file). */
  prefix?: string;
}

/**
 * Loads base weights from a safetensors file by diffusers name. The whole header is compared with the model first
 * (names, shapes, dtypes): nothing is read or allocated until it matches, so a file for another architecture fails
 * fast with the list of differences. Tensors are then read and uploaded one at a time (F32/F16/BF16).
 */
export async function loadWeights(model: Module, file: SafetensorsFile, opts: LoadWeightsOptions = {}): Promise<LoadReport> {
  const strict = opts.strict ?? true;
  const prefix = opts.prefix ?? '';
  const own = baseParameters(model);
  const plan: [string, string][] = [];
  const report: LoadReport = { missing: [], unexpected: [], mismatched: [] };
  const seen = new Set<string>();
  for (const key of file.keys()) {
    if (prefix && !key.startsWith(prefix)) continue;
    const name = canonicalName(key.slice(prefix.length));
    const p = own.get(name);
    if (!p) {
      report.unexpected.push(key);
      continue;
    }
    const info = file.info(key);
    if (!isFloatDtype(info.dtype)) throw new SafetensorsError(`${file.name}: tensor '${key}' has dtype ${info.dtype}; model weights must be F32, F16 or BF16`);
    // Old VAE checkpoints store the attention projections as 1x1 convs [C, C, 1, 1].
    const shape = info.shape.length === 4 && p.shape.length === 2 && info.shape[2] === 1 && info.shape[3] === 1 ? info.shape.slice(0, 2) : info.shape;
    if (shape.length !== p.shape.length || shape.some((d, i) => d !== p.shape[i])) report.mismatched.push({ key, expected: p.shape, got: info.shape });
    else plan.push([key, name]);
    seen.add(name);
  }
  for (const k of own.keys()) if (!seen.has(k)) report.missing.push(k);
  const bad = report.missing.length + report.unexpected.length + report.mismatched.length;
  if (strict && bad) throw new Error(`${file.name}: ${describeLoadReport(report)}`);
  for (const [key, name] of plan) {
    const p = own.get(name)!;
    const data = await file.getFloat32(key);
    noGrad(() => tidy(() => assignInPlace(p, tensor(data, p.shape))));
  }
  return report;
}

// Each GPU readback is a round trip (a submit and a map), so small tensors are packed into one buffer per group.
const READ_GROUP_ELEMENTS = 16 * 1024 * 1024;

/** The values of many tensors, read back in a few large transfers instead of one per tensor. */
export async function readAll(ts: readonly Tensor[]): Promise<Float32Array[]> {
  const out: Float32Array[] = new Array(ts.length);
  for (let i = 0; i < ts.length; ) {
    let j = i;
    let n = 0;
    while (j < ts.length && (j === i || n + ts[j].size <= READ_GROUP_ELEMENTS)) n += ts[j++].size;
    const group = ts.slice(i, j);
    const flat = group.length === 1 ? null : noGrad(() => tidy(() => concat(group.map((t) => t.reshape([t.size])), 0)));
    const all = flat ? await flat.data() : await group[0].data();
    flat?.dispose();
    let at = 0;
    group.forEach((t, k) => {
      out[i + k] = all.slice(at, at + t.size);
      at += t.size;
    });
    i = j;
  }
  return out;
}

/** Base weights as safetensors chunks (diffusers names; LoRA adapters excluded): hand them to writeFileAtomic or a Blob. */
export async function saveWeights(model: Module, opts: { dtype?: FloatDtype; metadata?: Record<string, string> } = {}): Promise<Uint8Array<ArrayBuffer>[]> {
  const params = [...baseParameters(model)];
  const data = await readAll(params.map(([, t]) => t));
  const out: Record<string, TensorToWrite> = Object.fromEntries(params.map(([k, t], i) => [k, { dtype: opts.dtype ?? 'F32', shape: t.shape, data: data[i] }]));
  return serializeSafetensors(out, { format: 'pt', ...opts.metadata });
}

export interface SaveLoraOptions {
  /** Adapters to save (default all). */
  adapters?: readonly string[];
  /**
   * Drop the adapter name from keys (`to_q.lora_A.weight`), as diffusers' `save_lora_weights` / PEFT's
   * get_peft_model_state_dict write them; needs exactly one adapter.
   */
  stripAdapterName?: boolean;
  /** Prepended to every key, e.g. 'unet.' for a diffusers pipeline LoRA file. */
  prefix?: string;
  dtype?: FloatDtype;
}

/**
 * LoRA adapters as safetensors chunks in PEFT naming: `<layer>.lora_A.<adapter>.weight` ([r, in] or
 * [r, in, kh, kw]) and `<layer>.lora_B.<adapter>.weight` ([out, r] or [out, r, 1, 1]). Rank and alpha per adapter
 * go in the metadata as JSON under `lora_adapters` ({"GRBG": {"r": 4, "lora_alpha": 4}, …}).
 */
export async function saveLora(model: Module, opts: SaveLoraOptions = {}): Promise<Uint8Array<ArrayBuffer>[]> {
  const layers = loraLayers(model);
  if (!layers.length) throw new Error('saveLora: the model has no LoRA layers');
  const all = [...new Set(layers.flatMap(([, l]) => l.adapterNames))];
  const adapters = opts.adapters ?? all;
  if (opts.stripAdapterName && adapters.length !== 1) throw new Error(`saveLora: stripAdapterName needs exactly one adapter; got ${adapters.join(', ')}`);
  const out: Record<string, TensorToWrite> = {};
  const meta: Record<string, { r: number; lora_alpha: number }> = {};
  const prefix = opts.prefix ?? '';
  const pending: [string, Tensor][] = [];
  for (const [path, layer] of layers) {
    for (const a of adapters) {
      if (!layer.adapterNames.includes(a)) continue;
      const ad = layer.adapter(a);
      meta[a] = { r: ad.rank, lora_alpha: ad.alpha };
      const tag = opts.stripAdapterName ? '' : `.${a}`;
      pending.push([`${prefix}${path}.lora_A${tag}.weight`, ad.A.weight], [`${prefix}${path}.lora_B${tag}.weight`, ad.B.weight]);
    }
  }
  const data = await readAll(pending.map(([, t]) => t));
  pending.forEach(([k, t], i) => (out[k] = { dtype: opts.dtype ?? 'F32', shape: t.shape, data: data[i] }));
  return serializeSafetensors(out, { format: 'pt', lora_adapters: JSON.stringify(meta) });
}

export interface LoadLoraOptions {
  /** Adapter name for keys without one (`to_q.lora_A.weight`); default 'default', as PEFT. */
  adapter?: string;
  /** alpha for adapters the metadata does not describe (default: the rank, scale 1). */
  alpha?: number;
  strict?: boolean;
}

const LORA_KEY = /^(?:base_model\.model\.|unet\.|vae\.)?(.+)\.lora_([AB])(?:\.([A-Za-z0-9_-]+))?\.weight$/;

/**
 * Loads LoRA adapters in PEFT / diffusers naming (with or without adapter names, with `unet.`/`base_model.model.`
 * prefixes). Layers not yet wrapped are wrapped; adapters not yet present are added with the file's rank. Strict
 * (default): keys that name no Linear/Conv2d of the model, non-LoRA keys, and shape mismatches are errors listed
 * together before anything is changed.
 */
export async function loadLora(model: Module, file: SafetensorsFile, opts: LoadLoraOptions = {}): Promise<LoadReport> {
  const strict = opts.strict ?? true;
  let meta: Record<string, { r?: number; lora_alpha?: number }> = {};
  if (file.metadata.lora_adapters) {
    try {
      meta = JSON.parse(file.metadata.lora_adapters) as typeof meta;
    } catch {
      throw new SafetensorsError(`${file.name}: metadata 'lora_adapters' is not JSON`);
    }
  }
  const modules = new Map(model.namedModules());
  const report: LoadReport = { missing: [], unexpected: [], mismatched: [] };
  const entries: { key: string; path: string; which: 'A' | 'B'; adapter: string }[] = [];
  for (const key of file.keys()) {
    const m = LORA_KEY.exec(key);
    const target = m ? modules.get(m[1]) : undefined;
    if (!m || !(target instanceof Linear || target instanceof Conv2d || isLoRALayer(target))) {
      report.unexpected.push(key);
      continue;
    }
    if (!isFloatDtype(file.info(key).dtype)) throw new SafetensorsError(`${file.name}: tensor '${key}' has dtype ${file.info(key).dtype}; LoRA weights must be F32, F16 or BF16`);
    entries.push({ key, path: m[1], which: m[2] as 'A' | 'B', adapter: m[3] ?? opts.adapter ?? 'default' });
  }
  // Pair A with B and check shapes against the base layer before changing the model.
  const pairs = new Map<string, { path: string; adapter: string; A?: string; B?: string }>();
  for (const e of entries) {
    const id = `${e.path}|${e.adapter}`;
    const p = pairs.get(id) ?? { path: e.path, adapter: e.adapter };
    p[e.which] = e.key;
    pairs.set(id, p);
  }
  const ready: { path: string; adapter: string; A: string; B: string; rank: number }[] = [];
  for (const p of pairs.values()) {
    if (!p.A || !p.B) {
      report.missing.push(`${p.path}.lora_${p.A ? 'B' : 'A'}.${p.adapter}.weight`);
      continue;
    }
    const m = modules.get(p.path)!;
    const base = (isLoRALayer(m) ? m.base : m) as Linear | Conv2d;
    const a = file.info(p.A).shape;
    const b = file.info(p.B).shape;
    const rank = a[0];
    const w = base.weight.shape;
    const expectA = w.length === 2 ? [rank, w[1]] : [rank, w[1], w[2], w[3]];
    const expectB = w.length === 2 ? [w[0], rank] : [w[0], rank, 1, 1];
    const ok = (got: readonly number[], exp: number[]) => got.length === exp.length && got.every((d, i) => d === exp[i]);
    // A rank above the layer's own width is never useful and would let a header size an allocation unchecked.
    const maxRank = loraMaxRank(w);
    if (!Number.isInteger(rank) || rank < 1 || rank > maxRank) report.mismatched.push({ key: p.A, expected: [maxRank, ...expectA.slice(1)], got: a });
    else if (!ok(a, expectA)) report.mismatched.push({ key: p.A, expected: expectA, got: a });
    else if (!ok(b, expectB)) report.mismatched.push({ key: p.B, expected: expectB, got: b });
    else if (isLoRALayer(m) && m.adapterNames.includes(p.adapter) && m.adapter(p.adapter).rank !== rank) {
      report.mismatched.push({ key: p.A, expected: m.adapter(p.adapter).A.weight.shape, got: a });
    } else ready.push({ path: p.path, adapter: p.adapter, A: p.A, B: p.B, rank });
  }
  const bad = report.missing.length + report.unexpected.length + report.mismatched.length;
  if (strict && bad) throw new Error(`${file.name}: LoRA file does not match the model: ${describeLoadReport(report).replace(/^[^:]*: /, '')}`);
  for (const r of ready) {
    let layer = modules.get(r.path)!;
    if (!isLoRALayer(layer)) {
      const wrapped = layer instanceof Linear ? new LoRALinear(layer) : new LoRAConv2d(layer as Conv2d);
      replaceModule(model, r.path, wrapped);
      modules.set(r.path, wrapped);
      layer = wrapped;
    }
    const l = layer as LoRALayer;
    if (!l.adapterNames.includes(r.adapter)) l.addAdapter(r.adapter, { rank: r.rank, alpha: meta[r.adapter]?.lora_alpha ?? opts.alpha ?? r.rank });
    const ad = l.adapter(r.adapter);
    for (const [key, t] of [[r.A, ad.A.weight], [r.B, ad.B.weight]] as const) {
      const data = await file.getFloat32(key);
      noGrad(() => tidy(() => assignInPlace(t, tensor(data, t.shape))));
    }
  }
  return report;
}
