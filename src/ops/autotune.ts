import { getDevice, type GpuDevice } from '../../runtime/index.js';
import { timeCandidates, type CandidateTiming } from './autotune-run.js';
import { isCpuAdapter } from './adapter-kind.js';
import { DEFAULT_GENERAL, configName, unsupportedReason, type MatmulConfig } from './matmul-kernels.js';

/**
 * Picks the matmul kernel per adapter by timing a few candidates on a representative product (512³ by default),
 * keeping the fastest whose result matches the general kernel's. Choices are cached per adapter in memory and,
 * given a storage (src/node/autotune-store.ts on disk in Node), across processes. All candidates compute the
 * same product; the choice changes results by float rounding at most.
 *
 * When: `await autotuneMatmul()` tunes now. Otherwise the first large matmul on an adapter without a cached choice
 * runs with a per-adapter default and starts a tune in the background (`configureMatmulAutotune` turns this off);
 * the tune uses its own buffers and command buffers, so it never touches the engine's batch or pool accounting.
 */

/** Where tuned choices persist between processes. `get` is synchronous: it runs inside the first matmul. */
export interface AutotuneStorage {
  get(key: string): string | null | undefined;
  set(key: string, value: string): void | Promise<void>;
}

export interface AutotuneSettings {
  storage: AutotuneStorage | null;
  /** What the first matmul on an adapter with no cached choice does besides using the default kernel. */
  onFirstUse: 'background-tune' | 'nothing';
  /** Side of the square product tunes time (when `autotuneMatmul` is not given one). */
  size: number;
  /** What tunes try (when `autotuneMatmul` is not given a list); null: `matmulCandidates(device)`. */
  candidates: MatmulConfig[] | null;
}

export interface AutotuneResult {
  adapterKey: string;
  config: MatmulConfig;
  name: string;
  source: 'tuned' | 'memory' | 'storage';
  size?: number;
  candidates?: CandidateTiming[];
  elapsedMs?: number;
}

export interface AutotuneOptions {
  /** The device to tune for (default: the current one). */
  device?: GpuDevice;
  storage?: AutotuneStorage | null;
  /** Tune even when a choice is cached. */
  force?: boolean;
  /** Side of the square product to time, and what to try (default: the settings'). */
  size?: number;
  candidates?: MatmulConfig[];
}

/** Bump when kernels change enough to invalidate stored choices. */
const TUNE_VERSION = 1;
const SUBGROUP_DEFAULT: MatmulConfig = { kernel: 'subgroup', NR: 4 };
const TILED_DEFAULT: MatmulConfig = { kernel: 'tiled', TS: 16 };

let settings: AutotuneSettings = { storage: null, onFirstUse: 'background-tune', size: 512, candidates: null };
let forced: MatmulConfig | null = null;
const chosen = new Map<string, MatmulConfig>();
const tuning = new Map<string, Promise<AutotuneResult>>();
const firstUseSeen = new WeakSet<GpuDevice>();
const keys = new WeakMap<GpuDevice, string>();

export function configureMatmulAutotune(s: Partial<AutotuneSettings>): void {
  settings = { ...settings, ...s };
}

/** Forces one kernel for every large matmul (null: back to the tuned/default choice). */
export function setMatmulConfig(c: MatmulConfig | null): void {
  forced = c ? { ...c } : null;
}

/** The kernel large matmuls use on `dev`. Called by every large matmul, so it must stay cheap. */
export function matmulConfigFor(dev: GpuDevice): MatmulConfig {
  // A forced kernel this device cannot run (e.g. subgroups on an adapter without them) falls back to the default.
  if (forced) return unsupportedReason(dev, forced) === null ? forced : defaultMatmulConfig(dev);
  const key = adapterKey(dev);
  const c = chosen.get(key);
  if (c) return c;
  if (!firstUseSeen.has(dev)) {
    // First use on this device: look in the storage once, else tune in the background (after the current op is
    // recorded; a failed tune leaves the default in place).
    firstUseSeen.add(dev);
    const stored = loadStored(dev, key, settings.storage);
    if (stored) return stored;
    if (settings.onFirstUse === 'background-tune') setTimeout(() => void autotuneMatmul({ device: dev }).catch(() => undefined), 0);
  }
  return defaultMatmulConfig(dev);
}


/** The choice before (or without) tuning: the kernel measured fastest on this kind of adapter. */
export function defaultMatmulConfig(dev: GpuDevice): MatmulConfig {
  if (isCpuAdapter(dev)) return unsupportedReason(dev, SUBGROUP_DEFAULT) === null ? SUBGROUP_DEFAULT : DEFAULT_GENERAL;
  return unsupportedReason(dev, TILED_DEFAULT) === null ? TILED_DEFAULT : DEFAULT_GENERAL;
}

/**
 * The configurations worth timing on `dev` (those it cannot run are left out). On CPU adapters the shared-memory
 * kernel runs at a tenth of the subgroup kernel's speed and would only lengthen the tune.
 */
export function matmulCandidates(dev: GpuDevice): MatmulConfig[] {
  const subgroup: MatmulConfig[] = [SUBGROUP_DEFAULT, { kernel: 'subgroup', NR: 2 }];
  const tiled: MatmulConfig[] = [TILED_DEFAULT, { kernel: 'tiled', TS: 8 }];
  const general: MatmulConfig[] = [DEFAULT_GENERAL, { kernel: 'general', TM: 8, TN: 4, WX: 8, WY: 8 }];
  const all = isCpuAdapter(dev) ? [...subgroup, ...general] : [...tiled, ...general, ...subgroup];
  return all.filter((c) => unsupportedReason(dev, c) === null);
}

/** A short stable id of the adapter (and of this tuner's version), used for cache keys and file names. */
export function adapterKey(dev: GpuDevice): string {
  let k = keys.get(dev);
  if (k) return k;
  const a = dev.adapter;
  const info = (dev.device as { adapterInfo?: { subgroupMinSize?: number; subgroupMaxSize?: number } }).adapterInfo;
  const text = JSON.stringify([TUNE_VERSION, a.vendor, a.architecture, a.device, a.description, info?.subgroupMinSize, info?.subgroupMaxSize, [...dev.features].sort()]);
  let h = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  k = h.toString(16).padStart(8, '0');
  keys.set(dev, k);
  return k;
}

function loadStored(dev: GpuDevice, key: string, storage: AutotuneStorage | null): MatmulConfig | null {
  if (!storage) return null;
  try {
    const text = storage.get(key);
    if (!text) return null;
    const parsed = JSON.parse(text) as { version?: number; config?: MatmulConfig };
    const c = parsed.config;
    if (parsed.version !== TUNE_VERSION || typeof c !== 'object' || c === null || unsupportedReason(dev, c) !== null) return null;
    chosen.set(key, c);
    return c;
  } catch {
    return null; // A corrupt or unreadable entry is the same as none: tune again.
  }
}

/**
 * Times the candidates on `dev` (the current device by default) and adopts the fastest correct one for its
 * adapter. Returns the cached choice without timing unless `force`. On lavapipe it takes a few seconds.
 */
export async function autotuneMatmul(opts: AutotuneOptions = {}): Promise<AutotuneResult> {
  const dev = opts.device ?? getDevice();
  const key = adapterKey(dev);
  const storage = opts.storage !== undefined ? opts.storage : settings.storage;
  if (!opts.force) {
    const mem = chosen.get(key);
    if (mem) return { adapterKey: key, config: mem, name: configName(mem), source: 'memory' };
    const stored = loadStored(dev, key, storage);
    if (stored) return { adapterKey: key, config: stored, name: configName(stored), source: 'storage' };
  }
  const running = tuning.get(key);
  if (running) return running;
  const job = (async () => {
    const t0 = performance.now();
    const size = opts.size ?? settings.size;
    const candidates = await timeCandidates(dev, opts.candidates ?? settings.candidates ?? matmulCandidates(dev), size);
    const best = candidates.filter((c) => !c.dropped).sort((x, y) => x.ms - y.ms)[0];
    if (!best) throw new Error(`autotuneMatmul: no candidate ran correctly on this adapter (${candidates.map((c) => `${c.name}: ${c.dropped}`).join('; ')})`);
    chosen.set(key, best.config);
    const elapsedMs = Math.round(performance.now() - t0);
    const result: AutotuneResult = { adapterKey: key, config: best.config, name: best.name, source: 'tuned', size, candidates, elapsedMs };
    if (storage) {
      try {
        await storage.set(key, JSON.stringify({ version: TUNE_VERSION, adapter: dev.adapter, ...result }, null, 2));
      } catch {
        /* a read-only cache directory only costs a re-tune next time */
      }
    }
    return result;
  })();
  tuning.set(key, job);
  try {
    return await job;
  } finally {
    tuning.delete(key);
  }
}
