import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { init } from '../index.js';
import { manualSeed } from '../ops/random.js';
import { noGrad } from '../autograd/graph.js';
import { train } from '../train/loop.js';
import { RddmSystem, DEFAULT_RDDM_CONFIG, type RddmConfig } from '../rddm/system.js';
import { makeStageTask, batchAt, type Stage, type StageOptions } from '../rddm/tasks.js';
import type { SrgbImage } from '../raw/synth-batch.js';
import { DirRunStore } from './run-store.js';
import { loadRddmDir, saveRddmDir } from './rddm-weights.js';

export interface StageRun {
  stage: Stage;
  steps: number;
  runDir: string;
  /** Weights to start from (a previous stage's output); absent for the first stage. */
  initDir?: string;
  outDir: string;
  resume: boolean;
  photos: SrgbImage[];
  seed: number;
  batch: number;
  crop: number;
  lr: number;
  config?: Partial<RddmConfig>;
  /** One-step restoration timestep T (kept in the weights' config). */
  timestep?: number;
  /** Wall-clock budget of the run in seconds (see TrainOptions.timeLimitS). */
  timeLimitS?: number;
  /** Stop checkpointed after this step (see TrainOptions.stopAt). */
  stopAt?: number;
  /** GPU memory the run may hold through the pool (GpuDevice.memoryLimit): the optimizer's flat storage is refused up front past it. */
  maxMemoryBytes?: number;
  /**
   * Stage 1 from scratch: the log-variance the encoder's posterior starts at (AutoencoderKL.narrowPosterior);
   * null or absent keeps PyTorch's default init. Ignored on --resume (the checkpoint holds the trained value).
   */
  posteriorLogvar?: number | null;
  /** Permute the photos' colour channels at random (SynthConfig.permuteChannels). */
  permuteChannels?: boolean;
  /** One-step stage: the UNet's base weights train too (StageOptions.trainUnetBase). */
  trainUnetBase?: boolean;
  /** One-step stage: the RVAE's decoder trains too (StageOptions.trainDecoder). */
  trainDecoder?: boolean;
  /** Probability of each detail degradation (StageOptions.degradeProb); absent: the synthesis default. */
  degradeProb?: number;
  /** Probability of a crop's noise from the darkest quarter of the range (StageOptions.darkProb); absent: 0. */
  darkProb?: number;
  /** 'cosine': decay the learning rate over `steps` (StageOptions.lrSchedule). */
  lrSchedule?: 'cosine';
  /** Dual-domain loss weights of the one-step stage (StageOptions.lambda*); absent ones keep their defaults. */
  lossWeights?: Pick<StageOptions, 'lambdaLatent' | 'lambdaPixel' | 'lambdaSsim' | 'lambdaLinear'>;
  log?: (line: string) => void;
}

/** Mean-free std of E_lin's latents over a few batches: SD's scaling factor is 1/std, measured the same way. */
async function measureLatentScale(sys: RddmSystem, opts: StageOptions): Promise<number> {
  let sum = 0, sq = 0, n = 0;
  for (let s = 0; s < 4; s++) {
    const z = noGrad(() => {
      const b = batchAt(opts, 10_000 + s);
      const m = sys.vae.encodeMoments(sys.toModelDomain(b.hqLinear, sys.exposureGain(b.hqLinear)));
      const mean = m.slice(1, 0, sys.vae.config.latentChannels).contiguous();
      for (const t of [b.lq, b.hqLinear, b.srgb, b.wbGains, b.cam2rgb, m]) t.dispose();
      return mean;
    });
    const d = await z.data();
    z.dispose();
    for (const v of d) {
      sum += v;
      sq += v * v;
    }
    n += d.length;
  }
  const mean = sum / n;
  return 1 / Math.sqrt(Math.max(1e-12, sq / n - mean * mean));
}

/** Runs one training stage (resumable) and writes the whole system's weights to `outDir`. */
export async function runStage(r: StageRun): Promise<RddmSystem> {
  const dev = await init();
  dev.memoryLimit = r.maxMemoryBytes ?? null;
  const log = r.log ?? ((l: string) => console.error(l));
  manualSeed(r.seed);
  const sys = r.initDir ? (await loadRddmDir(r.initDir)).sys : new RddmSystem({ ...DEFAULT_RDDM_CONFIG, ...r.config });
  if (r.timestep !== undefined) (sys.config as RddmConfig).timestep = r.timestep;
  // Stage 1 from earlier weights may switch them to per-channel gains (the CLI allows it for rvae1 only).
  if (r.initDir && r.config?.exposurePerChannel) (sys.config as RddmConfig).exposurePerChannel = true;
  // The one-step stage may widen the trained CMB-LoRA (the CLI allows it there only); a checkpoint then resumes at that rank.
  if (r.initDir && r.config?.loraRank !== undefined) sys.growLora(r.config.loraRank);
  // The one-step stage may train through the colour fix (or switch it off: 0), whatever the --init weights said.
  if (r.config?.colourFixBand !== undefined) {
    if (r.config.colourFixBand > 0) sys.config.colourFixBand = r.config.colourFixBand;
    else delete sys.config.colourFixBand;
  }
  if (r.config?.colourFixSigma !== undefined) {
    if (r.config.colourFixSigma > 0) sys.config.colourFixSigma = r.config.colourFixSigma;
    else delete sys.config.colourFixSigma;
    const band = sys.config.colourFixBand ?? 0;
    if (band > 0 && r.config.colourFixSigma > 0 && band >= r.config.colourFixSigma) {
      throw new Error(`--colour-fix ${r.config.colourFixSigma} must be above the blended band of the --init weights (colourFixBand ${band})`);
    }
  }
  if (r.posteriorLogvar != null && !r.initDir && !r.resume) sys.vae.narrowPosterior(r.posteriorLogvar);
  sys.nameParameters();
  sys.train();
  if (r.stage === 'rvae2') {
    // E_raw starts as a copy of E_lin (CMB-LoRA then adapts it to the mosaic).
    const src = new Map(sys.vae.namedParameters());
    const state = Object.fromEntries(sys.raw_encoder.namedParameters().filter(([k]) => src.has(k)).map(([k]) => [k, src.get(k)!]));
    sys.raw_encoder.loadStateDict(state, { strict: false });
    sys.applyLora();
  }
  const opts: StageOptions = { photos: r.photos, seed: r.seed, batch: r.batch, crop: r.crop, lr: r.lr, ...r.lossWeights, ...(r.permuteChannels ? { permuteChannels: true } : {}), ...(r.trainUnetBase ? { trainUnetBase: true } : {}), ...(r.trainDecoder ? { trainDecoder: true } : {}), ...(r.degradeProb !== undefined ? { degradeProb: r.degradeProb } : {}), ...(r.darkProb ? { darkProb: r.darkProb } : {}), ...(r.lrSchedule ? { lrSchedule: r.lrSchedule, totalSteps: r.steps } : {}) };
  const task = makeStageTask(sys, r.stage, opts);
  const store = new DirRunStore(r.runDir);
  if (!r.resume && existsSync(store.checkpointPath)) {
    throw new Error(`${store.checkpointPath} exists: pass --resume to continue that run, or choose another --run directory`);
  }
  log(`stage ${r.stage}: ${task.optimizer.params.length} trainable tensors, ${task.optimizer.params.reduce((s, p) => s + p.size, 0)} parameters; run dir ${r.runDir}`);
  const result = await train(task, { timeLimitS: r.timeLimitS, stopAt: r.stopAt, steps: r.steps, seed: r.seed, config: { stage: r.stage, ...opts, photos: r.photos.length, rddm: sys.config }, store, resume: r.resume, clipNorm: 1, label: r.stage, log });
  task.optimizer.dispose();
  if (r.stage === 'rvae1') {
    const scale = await measureLatentScale(sys, opts);
    (sys.config as RddmConfig).latentScale = scale;
    log(`latent scale (1/std of E_lin latents): ${scale.toFixed(5)}`);
  }
  await saveRddmDir(sys, r.outDir, { stage: r.stage, steps: result.stoppedAt ?? r.steps, seed: r.seed });
  log(`weights after stage ${r.stage} written to ${join(r.outDir, 'manifest.json')}`);
  return sys;
}
