import { empty, type Tensor } from '../tensor/tensor.js';
import { keep, tidy } from '../tensor/scope.js';
import { assignInPlace } from '../nn/module.js';
import { capture, type CapturedStep } from '../capture.js';
import { getRngState, setRngState, manualSeed } from '../ops/random.js';
import type { Optimizer } from '../optim/optimizer.js';
import { globalGradNorm, scaleGradsToNorm } from '../optim/clip.js';
import { DeviceLostError, GpuError, getDevice } from '../../runtime/index.js';
import { Progress } from './progress.js';
import { configChanges } from './config-diff.js';
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
  /**
   * Optional split of `loss` that lets the loop replay captured steps (src/capture.ts): `inputs(step)` makes step
   * s's data as tensors (and a key: steps with equal keys compute the same graph, e.g. one per CMB-LoRA pattern),
   * and `lossOf(inputs, key)` computes the loss from those tensors alone. `loss(s)` must equal `lossOf(inputs(s))`.
   */
  inputs?(step: number): { key: string; tensors: Tensor[] };
  lossOf?(inputs: readonly Tensor[], key: string): { loss: Tensor; metrics?: Record<string, Tensor> };
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
  /** Consecutive steps with a non-finite loss or gradient that stop the run (default 5). */
  maxBadSteps?: number;
  /**
   * Wall-clock budget in seconds: the run checkpoints and stops after the step that crosses it (a compute window
   * ends); `resume` later continues towards `steps` exactly as if it had not stopped.
   */
  timeLimitS?: number;
  /**
   * Stop checkpointed after this step (below `steps`), as the time limit does: the learning-rate schedule stays the
   * one of `steps`, so arms of an A/B compared at the same step, or a stage split over several windows, follow the
   * run that was not stopped; `resume` continues it.
   */
  stopAt?: number;
  /**
   * Replay captured steps where the task allows it (default true): per key, the forward, backward and gradient
   * norm are one captured step and the clipping and update another, so a step costs the encoding of its kernels
   * instead of running its ops. Results are bit-identical to the op-by-op path.
   */
  capture?: boolean;
}

export interface TrainResult {
  history: NonNullable<RunState['history']>;
  skipped: number[];
  resumedFrom: number | null;
  /** The step the time limit or `stopAt` stopped the run at (null: it ran to `steps`). */
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
 * True for an error that means the GPU device is gone (its tensors with it). A read in flight when the device goes
 * can fail before the device reports the loss, so a GpuError is checked against the device a moment later.
 */
async function isDeviceLoss(e: unknown): Promise<boolean> {
  if (e instanceof DeviceLostError) return true;
  if (!(e instanceof GpuError)) return false;
  await new Promise((r) => setTimeout(r, 20));
  try {
    getDevice().assertUsable();
    return false;
  } catch (x) {
    return x instanceof DeviceLostError;
  }
}

/**
 * The training loop every `rddm train*` command shares: seeded, resumable (bit-for-bit: data is a function of
 * the step, RNG and optimizer state are restored), checkpointed atomically, logged as JSONL, with a progress
 * line. A step whose loss or gradient norm is NaN or Inf is skipped before it reaches the weights, and reported
 * with the first parameter whose gradient is non-finite; `maxBadSteps` such steps in a row stop the run. A lost GPU
 * device stops the run with a DeviceLostError naming the last complete checkpoint, which `resume` continues from
 * (the log and loss plot, kept on the host, are still written).
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
      // The total step count may grow (a run extended past its first --steps); anything else that differs would
      // continue a different run than the one checkpointed.
      const changes = configChanges(ck.state.config, opts.config).filter((c) => !/^(.*\.)?totalSteps:/.test(c));
      if (ck.state.config !== undefined && changes.length) {
        throw new Error(`--resume: this run's settings differ from its checkpoint's:\n  ${changes.join('\n  ')}\npass the same options as the checkpointed run, or start a new run (another --run directory) with --init from its weights`);
      }
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
  // A run starting from step 0 owns its log: records left by an attempt killed before its first checkpoint would
  // otherwise stay in front of this run's (seen as a duplicated step 1 after a SIGKILL during the first step).
  if (resumedFrom === null) await store.truncateLog(0);
  if (opts.stopAt !== undefined && opts.stopAt <= start && start < steps) {
    throw new Error(`stop at step ${opts.stopAt} is not past the checkpoint's step ${start}: pass a later step, or none to run to step ${steps}`);
  }
  const progress = new Progress(opts.label ?? 'train', steps, log);
  const skipped: number[] = [];
  let bad = 0;
  const startedAt = Date.now();
  let stoppedAt: number | null = null;
  let lastCheckpoint: number | null = resumedFrom;
  const save = async (step: number) => {
    const state: RunState = { step, rng: getRngState(), config: opts.config, history, seed: opts.seed };
    await store.saveCheckpoint(await serializeCheckpoint(trainableByName(task.model), task.optimizer, state), step);
    lastCheckpoint = step;
    await store.savePlot?.(history);
  };
  let step = start;
  const graphs = new StepGraphs(task, opts.clipNorm);
  try {
    for (; step < steps; step++) {
      const captured = opts.capture !== false ? await graphs.forward(step) : null;
      const { loss, metrics, norm } = captured ?? (await eagerForward(task, step));
      const lossValue = await loss.item();
      const normValue = norm ? await norm.item() : 0;
      const metricValues: Record<string, number> = {};
      for (const [k, t] of Object.entries(metrics ?? {})) {
        metricValues[k] = await t.item();
        t.dispose();
      }
      loss.dispose();
      if (!Number.isFinite(lossValue) || !Number.isFinite(normValue)) {
        norm?.dispose();
        skipped.push(step);
        bad++;
        const culprit = await firstBadGradient(task.model);
        const what = Number.isFinite(lossValue) ? `gradient norm is ${normValue} (loss ${lossValue})` : `loss is ${lossValue}`;
        log(`step ${step + 1}: ${what}; step skipped${culprit ? ` (first non-finite gradient: ${culprit})` : ''}`);
        await store.appendLog({ step: step + 1, skipped: true, loss: String(lossValue), gradNorm: String(normValue), culprit });
        task.optimizer.zeroGrad();
        if (bad >= (opts.maxBadSteps ?? 5)) {
          throw new Error(
            `training stopped: ${bad} steps in a row had a non-finite loss or gradient (last at step ${step + 1}: ${what}); ` +
              `first non-finite gradient: ${culprit ?? 'none found (the loss itself overflowed)'} — lower the learning rate or check the data`,
          );
        }
        continue;
      }
      bad = 0;
      if (captured) await captured.update();
      else {
        if (norm && opts.clipNorm) scaleGradsToNorm(task.optimizer.params, norm, opts.clipNorm);
        task.optimizer.step();
      }
      norm?.dispose();
      const record = { step: step + 1, loss: lossValue, lr: task.optimizer.currentLr(), ...metricValues };
      history.push(record);
      await store.appendLog(record);
      progress.update(step + 1, { loss: lossValue, ...metricValues });
      const outOfTime = opts.timeLimitS !== undefined && (Date.now() - startedAt) / 1000 >= opts.timeLimitS && step + 1 < steps;
      const atStop = opts.stopAt !== undefined && step + 1 >= opts.stopAt && step + 1 < steps;
      if ((step + 1) % every === 0 || step + 1 === steps || outOfTime || atStop) await save(step + 1);
      if (outOfTime || atStop) {
        stoppedAt = step + 1;
        const why = atStop ? `stop at step ${opts.stopAt} reached` : `time limit of ${opts.timeLimitS} s reached at step ${step + 1} of ${steps}`;
        log(`${why}: checkpoint saved; --resume continues the run`);
        break;
      }
    }
  } catch (e) {
    if (!(await isDeviceLoss(e))) {
      graphs.dispose();
      throw e;
    }
    // Parameters and optimizer moments lived on the lost device: the last checkpoint is all that survives, and it
    // is complete (checkpoints are serialised to host memory first, then renamed into place).
    const where = lastCheckpoint === null ? 'no checkpoint was written yet, so --resume starts over' : `the checkpoint of step ${lastCheckpoint} is intact; --resume continues from it`;
    await store.appendLog({ step: step + 1, event: 'device-lost', message: (e as Error).message, lastCheckpoint });
    await store.savePlot?.(history);
    const cause = (e as Error).message.split('; call init()')[0]!;
    throw new DeviceLostError(`training stopped at step ${step + 1}: ${/lost|destroyed/.test(cause) ? cause : `the GPU device was lost (${cause})`}; ${where}`);
  }
  graphs.dispose();
  return { history, skipped, resumedFrom, stoppedAt };
}

interface StepForward {
  loss: Tensor;
  metrics?: Record<string, Tensor>;
  norm: Tensor | null;
}

/** Loss, gradients and their global norm of step `step`, op by op. */
async function eagerForward(task: TrainTask, step: number): Promise<StepForward> {
  const { loss, metrics } = tidy(() => task.loss(step));
  task.optimizer.zeroGrad();
  await loss.backward();
  return { loss, metrics, norm: globalGradNorm(task.optimizer.params) };
}

/**
 * The captured steps of a run, per key of the task's inputs: persistent input tensors the step's data is copied
 * into, a captured forward + backward + norm, and a captured clip + update (run only when the loss and the norm
 * are finite, as the op-by-op loop does). Each key's first two steps run eagerly (warm-up, recording).
 */
class StepGraphs {
  private graphs = new Map<string, { store: Tensor[]; forward: CapturedStep<Tensor[], StepForward>; update: CapturedStep<[Tensor], void> }>();

  constructor(
    private readonly task: TrainTask,
    private readonly clipNorm: number | undefined,
  ) {}

  async forward(step: number): Promise<(StepForward & { update(): Promise<void> }) | null> {
    const { task } = this;
    if (!task.inputs || !task.lossOf) return null;
    const { key, tensors } = task.inputs(step);
    let g = this.graphs.get(key);
    if (!g) {
      const lossOf = task.lossOf.bind(task);
      const params = task.optimizer.params;
      g = {
        store: tensors.map((t) => keep(empty(t.shape, t.dtype))),
        forward: capture(async (...ins: Tensor[]) => {
          const { loss, metrics } = tidy(() => lossOf(ins, key));
          task.optimizer.zeroGrad();
          await loss.backward();
          return { loss, metrics, norm: globalGradNorm(params) };
        }),
        update: capture(async (norm: Tensor) => {
          if (this.clipNorm) scaleGradsToNorm(params, norm, this.clipNorm);
          task.optimizer.step();
        }),
      };
      this.graphs.set(key, g);
    }
    tensors.forEach((t, i) => assignInPlace(g!.store[i], t));
    for (const t of tensors) t.dispose();
    const out = await g.forward(...g.store);
    const { update } = g;
    return { ...out, update: () => (out.norm ? update(out.norm) : Promise.resolve()) };
  }

  dispose(): void {
    for (const g of this.graphs.values()) {
      g.forward.dispose();
      g.update.dispose();
      for (const t of g.store) t.dispose();
    }
    this.graphs.clear();
  }
}
