import { openSafetensors, type ByteSource } from '../io/safetensors.js';
import { loadLora, loadWeights, saveLora, saveWeights } from '../models/weights-io.js';
import type { Module } from '../nn/module.js';
import { RddmSystem } from './system.js';
import { parseRddmManifest, type RddmManifest } from './manifest.js';

export type { RddmManifest } from './manifest.js';

/**
 * Shipped RDDM weights: one safetensors file per component with diffusers names (so the UNet and VAE files load
 * in diffusers too), LoRA adapters in PEFT naming in their own files, and a manifest with the config and a
 * sha256 of every file. Platform-neutral: the caller supplies how files are read and written.
 */
type Part = { file: string; module: (s: RddmSystem) => Module; lora: boolean };
const PARTS: Part[] = [
  { file: 'vae.safetensors', module: (s) => s.vae, lora: false },
  { file: 'raw_encoder.safetensors', module: (s) => s.raw_encoder, lora: false },
  { file: 'raw_encoder_lora.safetensors', module: (s) => s.raw_encoder, lora: true },
  { file: 'unet.safetensors', module: (s) => s.unet, lora: false },
  { file: 'unet_lora.safetensors', module: (s) => s.unet, lora: true },
  { file: 'context.safetensors', module: (s) => s.context, lora: false },
];

export async function sha256Hex(chunks: readonly Uint8Array[]): Promise<string> {
  const total = chunks.reduce((s, c) => s + c.length, 0);
  const all = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  const digest = await crypto.subtle.digest('SHA-256', all);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Serialises every component; `write(name, chunks)` stores one file. Returns the manifest (also written). */
export async function saveRddm(sys: RddmSystem, write: (name: string, chunks: Uint8Array[]) => Promise<void>, extra: Record<string, unknown> = {}): Promise<RddmManifest> {
  const files: RddmManifest['files'] = {};
  const hasLora = sys.unet.namedParameters().some(([k]) => k.includes('.lora_A.'));
  for (const part of PARTS) {
    if (part.lora && !hasLora) continue;
    const m = part.module(sys);
    const chunks = part.lora ? await saveLora(m) : await saveWeights(m);
    files[part.file] = { sha256: await sha256Hex(chunks), bytes: chunks.reduce((s, c) => s + c.length, 0) };
    await write(part.file, chunks);
  }
  const manifest: RddmManifest = { format: 'rddm-weights-1', config: sys.config, files, ...extra };
  await write('manifest.json', [new TextEncoder().encode(JSON.stringify(manifest, null, 2) + '\n')]);
  return manifest;
}

/**
 * Builds the system from a manifest and loads every file strictly, after checking each file's sha256: weights that
 * don't match the config, or a file that changed since it was written, fail with a message naming the file.
 */
export async function loadRddm(open: (name: string) => Promise<ByteSource & { close?(): Promise<void> }>, readText: (name: string) => Promise<string>, where = 'weights'): Promise<{ sys: RddmSystem; manifest: RddmManifest }> {
  let text: string;
  try {
    text = await readText('manifest.json');
  } catch (e) {
    throw new Error(`${where}/manifest.json: cannot read the weights manifest (${(e as Error).message})`);
  }
  const manifest = parseRddmManifest(text, `${where}/manifest.json`);
  const sys = new RddmSystem(manifest.config);
  if (manifest.files['unet_lora.safetensors']) sys.applyLora();
  for (const part of PARTS) {
    const entry = manifest.files[part.file];
    if (!entry) continue;
    const src = await open(part.file);
    try {
      const bytes = await src.read(0, src.size);
      const digest = await sha256Hex([bytes]);
      if (digest !== entry.sha256) throw new Error(`${where}/${part.file}: sha256 ${digest.slice(0, 12)}… does not match the manifest (${entry.sha256.slice(0, 12)}…); the file is corrupt or from another run`);
      const file = await openSafetensors(src);
      const m = part.module(sys);
      if (part.lora) await loadLora(m, file, { strict: true });
      else await loadWeights(m, file, { strict: true });
    } finally {
      await src.close?.();
    }
  }
  sys.freeze();
  sys.eval();
  return { sys, manifest };
}
