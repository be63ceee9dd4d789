import type { Tensor } from '../tensor/tensor.js';
import { tensor } from '../ops/creation.js';
import { serializeSafetensors, type TensorToWrite } from '../io/safetensors.js';
import type { SafetensorsFile } from '../io/safetensors.js';
import type { Optimizer, OptimizerState } from '../optim/optimizer.js';
import { ConfigCheck, ConfigError } from '../io/config-check.js';

/**
 * A training checkpoint is ONE safetensors file: the trained parameters under their module names, the optimizer's
 * moment buffers under `optimizer.<param index>.<slot>`, and the JSON run state (step, RNG, config, data-order
 * state) in the header metadata. One file means one atomic rename: a reader sees the old or the new checkpoint,
 * never a mix.
 */
export interface RunState {
  step: number;
  /** Engine RNG state (getRngState()). */
  rng: { seed: number; stream: number };
  /** Host-side data sampler state, if the run keeps one. */
  dataRng?: unknown;
  config: unknown;
  /** Loss history, so a resumed run's curve and log continue seamlessly. */
  history?: { step: number; loss: number; [k: string]: number }[];
  [k: string]: unknown;
}

const STATE_KEY = 'rddm.run_state';
const FORMAT_KEY = 'rddm.format';

export async function serializeCheckpoint(params: Record<string, Tensor>, optimizer: Optimizer | null, state: RunState): Promise<Uint8Array[]> {
  const tensors: Record<string, TensorToWrite> = {};
  for (const [name, t] of Object.entries(params)) tensors[name] = { dtype: 'F32', shape: t.shape, data: await t.data() };
  let optMeta: { step: number; params: number } | null = null;
  if (optimizer) {
    const os = await optimizer.stateDict();
    // The parameter count is recorded because only parameters with moments get tensors: the last ones may have none
    // yet (a CMB-LoRA pattern no batch has drawn), and the count must not be read off the highest index saved.
    optMeta = { step: os.step, params: os.slots.length };
    os.slots.forEach((slots, i) => {
      for (const [slot, data] of Object.entries(slots)) tensors[`optimizer.${i}.${slot}`] = { dtype: 'F32', shape: [data.length], data };
    });
  }
  return serializeSafetensors(tensors, {
    [FORMAT_KEY]: 'rddm-checkpoint-1',
    [STATE_KEY]: JSON.stringify({ ...state, optimizer: optMeta }),
  });
}

export interface LoadedCheckpoint {
  state: RunState;
  params: Record<string, { shape: readonly number[]; data: Float32Array }>;
  optimizer: OptimizerState | null;
}

/** Most optimizer slot tensors a checkpoint may list: far above any model here, and it bounds the slot table. */
const MAX_OPTIMIZER_PARAMS = 1 << 16;

/** The run state from a checkpoint's metadata, checked field by field (it decides where a resumed run starts). */
export function parseRunState(text: string, source: string): RunState & { optimizer: { step: number; params?: number } | null } {
  const k = new ConfigCheck(source);
  const o = k.object(k.parseJson(text), 'run state');
  const step = k.int(o.step, 'step', 0, Number.MAX_SAFE_INTEGER);
  const rng = k.object(o.rng, 'rng');
  const history = o.history === undefined ? undefined : k.array(o.history, 'history', 1 << 24).map((h, i) => {
    const r = k.object(h, `history[${i}]`);
    for (const [key, v] of Object.entries(r)) if (typeof v !== 'number') k.fail(`history[${i}].${key}`, `must be a number, got ${JSON.stringify(v)}`);
    k.int(r.step, `history[${i}].step`, 1, step);
    k.number(r.loss, `history[${i}].loss`, -Number.MAX_VALUE, Number.MAX_VALUE);
    return r as NonNullable<RunState['history']>[number];
  });
  const opt = o.optimizer === null || o.optimizer === undefined ? null : k.object(o.optimizer, 'optimizer');
  return {
    ...o,
    step,
    rng: { seed: k.number(rng.seed, 'rng.seed', -(2 ** 53), 2 ** 53), stream: k.int(rng.stream, 'rng.stream', 0, 0xffffffff) },
    config: o.config,
    ...(history ? { history } : {}),
    optimizer: opt
      ? { step: k.int(opt.step, 'optimizer.step', 0, Number.MAX_SAFE_INTEGER), ...(opt.params !== undefined ? { params: k.int(opt.params, 'optimizer.params', 0, MAX_OPTIMIZER_PARAMS) } : {}) }
      : null,
  };
}

export async function readCheckpoint(file: SafetensorsFile): Promise<LoadedCheckpoint> {
  if (file.metadata[FORMAT_KEY] !== 'rddm-checkpoint-1' || !file.metadata[STATE_KEY]) {
    throw new ConfigError(file.name, '', 'is not an rddm training checkpoint (no run state in its metadata)');
  }
  const state = parseRunState(file.metadata[STATE_KEY], `${file.name} (run state)`);
  const params: LoadedCheckpoint['params'] = {};
  const slots: Record<string, Float32Array>[] = [];
  for (const key of file.keys()) {
    const m = /^optimizer\.(\d+)\.(\w+)$/.exec(key);
    if (m) {
      // The index sizes the slot table, so it is bounded before use (a corrupt 'optimizer.99999999.m' must not
      // allocate a hundred million entries).
      const i = Number(m[1]);
      if (i >= MAX_OPTIMIZER_PARAMS) throw new ConfigError(file.name, `tensor '${key}'`, `names optimizer parameter ${i}; at most ${MAX_OPTIMIZER_PARAMS} are supported`);
      while (slots.length <= i) slots.push({});
      slots[i]![m[2]!] = await file.getFloat32(key);
    } else {
      params[key] = { shape: file.info(key).shape, data: await file.getFloat32(key) };
    }
  }
  const count = state.optimizer?.params;
  if (count !== undefined && slots.length > count) throw new ConfigError(file.name, `tensor 'optimizer.${slots.length - 1}.*'`, `names an optimizer parameter past the ${count} the run state records`);
  // Checkpoints written before the count was recorded end at the last parameter with moments.
  while (count !== undefined && slots.length < count) slots.push({});
  const optimizer = state.optimizer ? { step: state.optimizer.step, slots } : null;
  return { state, params, optimizer };
}

/** Uploads checkpoint values as tensors (for loadStateDict). */
export function checkpointTensors(params: LoadedCheckpoint['params']): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, tensor(v.data, v.shape)]));
}
