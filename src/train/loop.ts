import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/scope.js';
import { getRngState, setRngState, manualSeed } from '../ops/random.js';
import type { Optimizer } from '../optim/optimizer.js';
import { clipGradNorm } from '../optim/clip.js';
import { Progress } from './progress.js';
import { checkpointTensors, serializeCheckpoint, type LoadedCheckpoint, type RunState } from './checkpoint.js';
import type { Module } from '../nn/module.js';

/** What one training run provides: the model whose trainable parameters are trained, and the loss of step s. */
export interface TrainTask {
  model: Module;
  optimizer: Optimizer;
  /**
   * Builds the loss for step `step` (0-based) inside a tidy scope. Data must be a pure function of (seed, step)
   * so a resumed run sees exactly the batches an uninterrupted run would.
   */
  loss(step: number): { loss: Tensor; metrics?: Record<string, Tensor> };
}

/** Where a run keeps its files; Node implements it with atomic file writes, tests with memory. */
export interface RunStore {
  loadCheckpoint(): Promise<LoadedCheckpoint | null>;
  saveCheckpoint(chunks: Uint8Array[], step: number): Promise<void>;
  appendLog(record: Record<string, unknown>): Promise<void>;
  /** Drops log records after `step` (a resumed run rewrites them). */
  truncateLog(step: number): Promise<void>;
  savePlot?(history: RunState['history']): Promise<void>;
}

export interface TrainOptions {
  steps: number;
  seed: number;
  config: unknown;
  store: RunStore;
  resume?: boolean;
  checkpointEvery?: number;
  clipNorm?: number;
  label?: string;
  log?: (line: string) => void;
  /** Consecutive non-finite losses that stop the run. */
  maxBadSteps?: number;
  /**
   * Wall-clock budget in seconds: the run checkpoints and stops after the step that crosses it (a compute window
   * ends); `resume` later continues towards `steps` exactly as if it had not stopped.
   */
  timeLimitS?: number;
}

export interface TrainResult {
  history: NonNullable<RunState['history']>;
  skipped: number[];
  resumedFrom: number | null;
  /** The step the time limit stopped the run at (null: it ran to `steps`). */
  stoppedAt: number | null;
}

function trainableByName(model: Module): Record<string, Tensor> {
  return Object.fromEntries(model.namedParameters().filter(([, t]) => t.requiresGrad));
}

/** The first trainable parameter whose gradient has a NaN or Inf, for the error message. */
async function firstBadGradient(model: Module): Promise<string | null> {
  for (const [name, p] of model.namedParameters()) {
    if (!p.grad) continue;
    const d = await p.grad.data();
    if (d.some((v) => !Number.isFinite(v))) return name;
  }
  return null;
}

/**
 * The training loop every `rddm train*` command shares: seeded, resumable (bit-for-bit: data is a function of
 * the step, RNG and optimizer state are restored), checkpointed atomically, logged as JSONL, with a progress
 * line. A non-finite loss skips the step; `maxBadSteps` in a row stop the run naming the first bad parameter.
 */
export async function train(task: TrainTask, opts: TrainOptions): Promise<TrainResult> {
  const { store, steps } = opts;
  const log = opts.log ?? ((l: string) => console.error(l));
  const every = opts.checkpointEvery ?? Math.max(1, Math.floor(steps / 10));
  let start = 0;
  let history: NonNullable<RunState['history']> = [];
  let resumedFrom: number | null = null;
  manualSeed(opts.seed);
  if (opts.resume) {
    const ck = await store.loadCheckpoint();
    if (ck) {
      const tensors = checkpointTensors(ck.params);
      task.model.loadStateDict(tensors, { strict: false });
      for (const t of Object.values(tensors)) t.dispose();
      if (ck.optimizer) task.optimizer.loadStateDict(ck.optimizer, 2);
      setRngState(ck.state.rng);
      start = ck.state.step;
      history = ck.state.history ?? [];
      resumedFrom = start;
      await store.truncateLog(start);
      log(`resumed from step ${start}`);
    } else log('no checkpoint to resume from: starting a new run');
  }
  const progress = new Progress(opts.label ?? 'train', steps, log);
  const skipped: number[] = [];
  let bad = 0;
  const startedAt = Date.now();
  let stoppedAt: number | null = null;
  const save = async (step: number) => {
    const state: RunState = { step, rng: getRngState(), config: opts.config, history, seed: opts.seed };
    await store.saveCheckpoint(await serializeCheckpoint(trainableByName(task.model), task.optimizer, state), step);
    await store.savePlot?.(history);
  };
  for (let step = start; step < steps; step++) {
    const { loss, metrics } = tidy(() => task.loss(step));
    task.optimizer.zeroGrad();
    await loss.backward();
    const lossValue = await loss.item();
    const metricValues: Record<string, number> = {};
    for (const [k, t] of Object.entries(metrics ?? {})) {
      metricValues[k] = await t.item();
      t.dispose();
    }
    loss.dispose();
    if (!Number.isFinite(lossValue)) {
      skipped.push(step);
      bad++;
      const culprit = await firstBadGradient(task.model);
      log(`step ${step + 1}: loss is ${lossValue}; step skipped${culprit ? ` (first non-finite gradient: ${culprit})` : ''}`);
      await store.appendLog({ step: step + 1, skipped: true, loss: String(lossValue), culprit });
      task.optimizer.zeroGrad();
      if (bad >= (opts.maxBadSteps ?? 5)) {
        throw new Error(`training stopped: ${bad} non-finite losses in a row (last at step ${step + 1}); first non-finite gradient: ${culprit ?? 'none found (the loss itself overflowed)'} — lower the learning rate or check the data`);
      }
      continue;
    }
    bad = 0;
    if (opts.clipNorm) clipGradNorm(task.optimizer.params, opts.clipNorm).dispose();
    task.optimizer.step();
    const record = { step: step + 1, loss: lossValue, lr: task.optimizer.currentLr(), ...metricValues };
    history.push(record);
    await store.appendLog(record);
    progress.update(step + 1, { loss: lossValue, ...metricValues });
    const outOfTime = opts.timeLimitS !== undefined && (Date.now() - startedAt) / 1000 >= opts.timeLimitS && step + 1 < steps;
    if ((step + 1) % every === 0 || step + 1 === steps || outOfTime) await save(step + 1);
    if (outOfTime) {
      stoppedAt = step + 1;
      log(`time limit of ${opts.timeLimitS} s reached at step ${step + 1} of ${steps}: checkpoint saved; --resume continues the run`);
      break;
    }
  }
  return { history, skipped, resumedFrom, stoppedAt };
}
