// Training in the page: RVAE stage 1 of the tiny model from a random start, with the same task (src/rddm/tasks.ts)
// and loop (src/train/loop.ts) as `rddm train-rvae --stage 1`, on pairs synthesised on the GPU from one photo.
import { manualSeed } from '../src/ops/random.js';
import { train, type RunStore } from '../src/train/loop.js';
import type { LoadedCheckpoint } from '../src/train/checkpoint.js';
import { RddmSystem, DEFAULT_RDDM_CONFIG } from '../src/rddm/system.js';
import { makeStageTask } from '../src/rddm/tasks.js';
import type { SrgbImage } from '../src/raw/synth-batch.js';
import type { Rgb8 } from './raw-pipeline.js';

export interface PageTrainOptions {
  steps: number;
  crop: number;
  batch: number;
  lr: number;
  seed: number;
  photo: SrgbImage;
  onStep(record: { step: number; loss: number; [metric: string]: number }): void;
  /** Polled after every step; true stops the run after that step. */
  shouldStop(): boolean;
}

class StopRequested extends Error {}

/** Keeps nothing: the page shows the loss as it comes and has no use for checkpoints of a demo run. */
class LiveStore implements RunStore {
  constructor(private readonly opts: PageTrainOptions) {}
  async loadCheckpoint(): Promise<LoadedCheckpoint | null> {
    return null;
  }
  async saveCheckpoint(): Promise<void> {}
  async appendLog(record: Record<string, unknown>): Promise<void> {
    if (typeof record.loss === 'number') this.opts.onStep(record as { step: number; loss: number });
    // train() has no cancel; its step is complete (parameters updated) when the record arrives, so stopping here is clean.
    if (this.opts.shouldStop()) throw new StopRequested();
  }
  async truncateLog(): Promise<void> {}
}

/** Checks the settings against what the tiny VAE and the photo allow, naming the field to change. */
export function checkTrainSettings(o: Pick<PageTrainOptions, 'steps' | 'crop' | 'batch' | 'lr' | 'photo'>): void {
  if (!Number.isInteger(o.steps) || o.steps < 1) throw new RangeError(`steps must be a positive integer, got ${o.steps}`);
  if (!Number.isInteger(o.crop) || o.crop < 16 || o.crop % 8) throw new RangeError(`crop must be a multiple of 8 and at least 16 (the tiny VAE downsamples 4x over a Bayer mosaic), got ${o.crop}`);
  if (o.crop > Math.min(o.photo.width, o.photo.height)) throw new RangeError(`crop ${o.crop} is larger than the ${o.photo.width}x${o.photo.height} training photo`);
  if (!Number.isInteger(o.batch) || o.batch < 1) throw new RangeError(`batch must be a positive integer, got ${o.batch}`);
  if (!(o.lr > 0 && o.lr < 1)) throw new RangeError(`learning rate must lie in (0, 1), got ${o.lr}`);
}

/** Runs the steps; resolves with the step reached (fewer than asked when stopped). */
export async function trainRvae1InPage(opts: PageTrainOptions): Promise<{ stepsDone: number; stopped: boolean }> {
  checkTrainSettings(opts);
  manualSeed(opts.seed);
  const sys = new RddmSystem(DEFAULT_RDDM_CONFIG);
  sys.nameParameters();
  sys.train();
  const task = makeStageTask(sys, 'rvae1', { photos: [opts.photo], seed: opts.seed, batch: opts.batch, crop: opts.crop, lr: opts.lr });
  let stepsDone = 0;
  const onStep = opts.onStep;
  const store = new LiveStore({ ...opts, onStep: (r) => ((stepsDone = r.step), onStep(r)) });
  try {
    await train(task, { steps: opts.steps, seed: opts.seed, config: { stage: 'rvae1', page: true }, store, clipNorm: 1, checkpointEvery: opts.steps, label: 'rvae1', log: () => {} });
    return { stepsDone, stopped: false };
  } catch (e) {
    if (e instanceof StopRequested) return { stepsDone, stopped: true };
    throw e;
  } finally {
    task.optimizer.dispose();
    for (const p of sys.parameters()) {
      p.grad?.dispose();
      p.dispose();
    }
  }
}

/** A photo for training from an 8-bit preview: the central square of at most `side` pixels, as floats. */
export function photoFromPreview(img: Rgb8, side = 256): SrgbImage {
  const w = Math.min(side, img.width), h = Math.min(side, img.height);
  const x0 = (img.width - w) >> 1, y0 = (img.height - h) >> 1;
  const data = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let i = 0; i < w * 3; i++) data[y * w * 3 + i] = img.data[((y0 + y) * img.width + x0) * 3 + i] / 255;
  return { width: w, height: h, data };
}

/**
 * A synthetic photo with what restoration has to keep: smooth colour gradients, soft and hard edges, and fine
 * stripes at several orientations. Deterministic in `seed`.
 */
export function syntheticPhoto(side = 128, seed = 1): SrgbImage {
  let s = seed >>> 0 || 1;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const discs = Array.from({ length: 6 }, () => ({ x: rand() * side, y: rand() * side, r: side * (0.08 + 0.15 * rand()), c: [rand(), rand(), rand()] }));
  const stripes = Array.from({ length: 3 }, () => ({ a: rand() * Math.PI, f: 0.2 + 0.6 * rand() }));
  const data = new Float32Array(side * side * 3);
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++) {
      const u = x / side, v = y / side;
      const px = [0.15 + 0.6 * u, 0.2 + 0.5 * v, 0.6 - 0.4 * u * v];
      for (const d of discs) {
        const inside = Math.hypot(x - d.x, y - d.y) < d.r;
        if (inside) for (let c = 0; c < 3; c++) px[c] = 0.3 * px[c] + 0.7 * d.c[c];
      }
      const st = stripes[(x * 3) / side | 0] ?? stripes[0];
      const wave = 0.5 + 0.5 * Math.sin((x * Math.cos(st.a) + y * Math.sin(st.a)) * st.f * Math.PI);
      const k = y > side * 0.75 ? 0.35 : 0.08;
      for (let c = 0; c < 3; c++) data[(y * side + x) * 3 + c] = Math.min(1, Math.max(0, px[c] * (1 - k) + k * wave));
    }
  return { width: side, height: side, data };
}
