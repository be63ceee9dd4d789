// Fetches the shipped weights from the page's own server: one request per file, streamed into a buffer of the size
// the manifest states (never one buffer for everything), then loaded by loadRddm, which checks every file's sha256
// (crypto.subtle.digest) against the manifest before a tensor is made from it.
import { memorySource } from '../src/io/byte-source.js';
import { loadRddm, type RddmManifest } from '../src/rddm/weights.js';
import type { RddmSystem } from '../src/rddm/system.js';

/** One file is held in one buffer; beyond this a browser may refuse the allocation, so we say so first. */
const MAX_FILE_BYTES = 1 << 30;

export class WeightsError extends Error {
  override name = 'WeightsError';
}

async function fetchOrFail(url: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, { credentials: 'same-origin' });
  } catch (e) {
    throw new WeightsError(`${url}: the request failed (${e instanceof Error ? e.message : String(e)}); is the demo server still running?`);
  }
  if (!res.ok) throw new WeightsError(`${url}: the server answered ${res.status} ${res.statusText}`);
  return res;
}

/** Streams a response body into a preallocated buffer of exactly `bytes`, reporting each chunk. */
async function readExactly(res: Response, url: string, bytes: number, onChunk: (n: number) => void): Promise<Uint8Array> {
  if (bytes > MAX_FILE_BYTES) throw new WeightsError(`${url} is ${(bytes / 2 ** 30).toFixed(2)} GiB; this page holds one weights file in one buffer of at most 1 GiB`);
  const declared = res.headers.get('content-length');
  if (declared !== null && Number(declared) !== bytes) throw new WeightsError(`${url}: the server sends ${declared} bytes but the manifest says ${bytes}; the weights folder is inconsistent`);
  const out = new Uint8Array(bytes);
  if (!res.body) throw new WeightsError(`${url}: the response has no body`);
  const reader = res.body.getReader();
  let at = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (at + value.length > bytes) {
      await reader.cancel();
      throw new WeightsError(`${url} is longer than the ${bytes} bytes the manifest states`);
    }
    out.set(value, at);
    at += value.length;
    onChunk(value.length);
  }
  if (at !== bytes) throw new WeightsError(`${url} ended after ${at} of ${bytes} bytes (the download was cut short)`);
  return out;
}

export interface LoadedWeights {
  sys: RddmSystem;
  manifest: RddmManifest;
  bytes: number;
}

/** Loads the weights under `base` (e.g. '/weights/rddm-tiny'); `onProgress(loaded, total)` counts bytes. */
export async function loadWeightsFromServer(base: string, onProgress: (loaded: number, total: number, file: string) => void): Promise<LoadedWeights> {
  const manifestText = await (await fetchOrFail(`${base}/manifest.json`)).text();
  let manifest: RddmManifest;
  try {
    manifest = JSON.parse(manifestText) as RddmManifest;
  } catch (e) {
    throw new WeightsError(`${base}/manifest.json is not valid JSON (${(e as Error).message})`);
  }
  const entries = Object.entries(manifest.files ?? {});
  if (!entries.length) throw new WeightsError(`${base}/manifest.json lists no files`);
  const total = entries.reduce((s, [, e]) => s + e.bytes, 0);
  let loaded = 0;
  const files = new Map<string, Uint8Array>();
  for (const [name, entry] of entries) {
    const url = `${base}/${name}`;
    files.set(name, await readExactly(await fetchOrFail(url), url, entry.bytes, (n) => onProgress((loaded += n), total, name)));
  }
  const { sys } = await loadRddm(
    async (name) => {
      const bytes = files.get(name);
      if (!bytes) throw new WeightsError(`${base}/${name} was not fetched`);
      return memorySource(bytes, `${base}/${name}`);
    },
    async () => manifestText,
    base,
  );
  return { sys, manifest, bytes: total };
}
