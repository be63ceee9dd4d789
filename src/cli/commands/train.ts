import { join } from 'node:path';
import { colourFixBandFlag, colourFixFlag, intFlag, nonNegativeFlag, noPositionals, parseArgs, positiveFlag, probabilityFlag, UsageError, type Command, type Flags, inputWeights } from '../command.js';
import { runStage } from '../../node/train-stage.js';
import { loadPhotos } from '../../node/load-photos.js';
import type { Stage } from '../../rddm/tasks.js';
import { MODEL_CONFIGS, MODEL_CONFIG_NAMES, type ModelConfigName } from '../../models/configs.js';

interface Defaults {
  steps: number;
  lr: number;
  batch: number;
  crop: number;
}

/** Recipe defaults per stage for the tiny configs on a CPU adapter (see weights/README.md). */
export const STAGE_DEFAULTS: Record<Stage, Defaults> = {
  rvae1: { steps: 1500, lr: 2e-3, batch: 4, crop: 64 },
  rvae2: { steps: 600, lr: 1e-3, batch: 4, crop: 64 },
  unet: { steps: 1500, lr: 1e-3, batch: 4, crop: 64 },
  onestep: { steps: 800, lr: 5e-4, batch: 4, crop: 64 },
};

const COMMON = `  --steps N        training steps (default per stage)
  --run DIR        run directory: checkpoint.safetensors, log.jsonl, loss.png (default runs/<stage>)
  --resume         continue the run in --run exactly where its last checkpoint stopped
  --init DIR       start from these weights (a previous stage's --out)
  --out DIR        write the resulting weights here (default <run>/weights)
  --seed N         seed of everything (default 1)
  --batch N --crop N --lr X
  --lr-schedule constant|cosine  cosine: short warm-up, then decay to lr/10 at --steps (default constant)
  --time-limit S   stop after S seconds of training (checkpoint + weights written; --resume continues)
  --stop-at N      stop after step N of --steps, as --time-limit does, keeping the learning-rate schedule of
                   --steps (arms of an A/B compared at one step; --resume continues)
  --max-memory MIB  GPU memory the run may hold: the optimizer's flat parameters, gradients and moments are refused
                   before training starts, naming their size, if they would pass it (default: no limit)
  --timestep T     one-step restoration timestep (onestep mode; default 999, or what the --init weights say)
  --degrade-prob P  probability of each detail degradation, blur and resize (default 0.5; 0: noise + mosaic only)
  --dark-prob P    probability that a crop's noise is drawn from the darkest quarter of the synthesis's range (about
                   rddm eval's last noise bin) instead of the whole range (default 0)
  --permute-colours  permute the photos' colour channels at random (a few photos have a few palettes)
  --lambda-latent X --lambda-pixel X --lambda-ssim X --lambda-linear X  weights of the one-step stage's loss
                   terms (latent MSE, sRGB pixel MSE, 1 − SSIM, camera-linear pixel MSE; defaults 1, 1, 0.2, 0)
  --vae NAME --unet NAME  model configs of a run that starts from scratch (stage 1 without --init; default
                   tiny-vae, tiny-unet; pass them again with --resume); later stages take them from --init
  --lora-rank N    CMB-LoRA rank of a run that starts from scratch (default 4); with --init, only the one-step
                   stage takes it, and grows the trained adapters to rank N without changing their output;
                   at most the narrowest adapted layer's width (16 with tiny-vae-x2: E_raw's conv_out)
  --colour-fix SIGMA  one-step stage: train through the low-frequency colour fix of σ pixels (0: off), so the
                   pixel losses see the image restore will output; kept in the weights' config
  --colour-fix-band SIGMA  with --colour-fix: the σ where the fix's per-pixel blended band starts (0: none; the
                   --init weights' otherwise); kept in the weights' config
  --train-unet-base  one-step stage: the UNet's base weights train too, not only its CMB-LoRA and conv_in (OSEDiff
                   freezes them to keep SD's prior; ours is pretrained here, so it is a choice to measure)
  --train-decoder  one-step stage: the RVAE's decoder trains too, on the restored images' losses (the encoder and
                   so the latent targets stay fixed; OSEDiff freezes SD's decoder, ours is trained here)
  --posterior-logvar V|random  stage 1 from scratch: the encoder's posterior log-variance starts at V (default
                   -12, std 0.0025, where a trained posterior ends; AutoencoderKL.narrowPosterior says why); random: PyTorch's default bias init
  --per-channel-exposure  one exposure gain per colour channel (RddmConfig.exposurePerChannel): for a run that
                   starts from scratch, or for stage 1 from --init weights (switches them over); later stages
                   take it from --init`;

const LOSS_WEIGHT_FLAGS = ['lambda-latent', 'lambda-pixel', 'lambda-ssim', 'lambda-linear'] as const;

const COMMON_FLAGS = ['posterior-logvar', 'colour-fix', 'colour-fix-band', 'steps', 'run', 'init', 'out', 'seed', 'batch', 'crop', 'lr', 'timestep', 'time-limit', 'stop-at', 'max-memory', 'vae', 'unet', 'lora-rank', 'lr-schedule', 'degrade-prob', 'dark-prob', ...LOSS_WEIGHT_FLAGS];

/** --lambda-*: the dual-domain loss weights, which only the one-step stage has. */
function lossWeightFlags(flags: Flags, stage: Stage): { lambdaLatent?: number; lambdaPixel?: number; lambdaSsim?: number; lambdaLinear?: number } {
  const given = LOSS_WEIGHT_FLAGS.filter((k) => flags[k] !== undefined);
  if (given.length && stage !== 'onestep') throw new UsageError(`--${given[0]} weighs a term of the one-step stage's dual-domain loss (rddm train --mode onestep); stage ${stage} has no such term`);
  const [lambdaLatent, lambdaPixel, lambdaSsim, lambdaLinear] = LOSS_WEIGHT_FLAGS.map((k) => nonNegativeFlag(flags, k));
  // lambda-linear defaults to 0, so the other three at 0 leave nothing unless it is given above 0.
  if (lambdaLatent === 0 && lambdaPixel === 0 && lambdaSsim === 0 && !lambdaLinear) throw new UsageError('--lambda-latent, --lambda-pixel and --lambda-ssim are all 0 and --lambda-linear is not above 0: nothing left to train on');
  return { ...(lambdaLatent !== undefined ? { lambdaLatent } : {}), ...(lambdaPixel !== undefined ? { lambdaPixel } : {}), ...(lambdaSsim !== undefined ? { lambdaSsim } : {}), ...(lambdaLinear !== undefined ? { lambdaLinear } : {}) };
}

/** The log-variance an untrained RVAE encoder's posterior starts at (StageRun.posteriorLogvar). */
export const DEFAULT_POSTERIOR_LOGVAR = -12;

/** --posterior-logvar: stage 1 from scratch only (other stages load a trained encoder); null keeps the random init. */
function posteriorLogvarFlag(flags: Flags, stage: Stage): number | null | undefined {
  const v = flags['posterior-logvar'];
  const fromScratch = stage === 'rvae1' && !flags.init;
  if (v === undefined) return fromScratch && !flags.resume ? DEFAULT_POSTERIOR_LOGVAR : undefined;
  if (!fromScratch) throw new UsageError('--posterior-logvar initialises an untrained encoder: stage 1 (train-rvae --stage 1) without --init only');
  if (v === 'random') return null;
  const x = Number(v);
  if (!Number.isFinite(x) || x < -30 || x > 20) throw new UsageError(`--posterior-logvar must be a number in [-30, 20] (the posterior's clamp) or 'random', got '${v}'`);
  return x;
}

/** --vae/--unet: a known config of the right kind, and only where no --init weights fix the models already. */
function modelFlags(flags: Flags, stage: Stage): { vae?: string; unet?: string; loraRank?: number; exposurePerChannel?: boolean; colourFixSigma?: number; colourFixBand?: number } {
  const out: { vae?: string; unet?: string; loraRank?: number; exposurePerChannel?: boolean; colourFixSigma?: number; colourFixBand?: number } = {};
  const colourFixSigma = colourFixFlag(flags);
  const colourFixBand = colourFixBandFlag(flags);
  for (const [flag, v] of [['colour-fix', colourFixSigma], ['colour-fix-band', colourFixBand]] as const) {
    // Only the one-step stage's losses see the restored image the fix applies to.
    if (v !== undefined && stage !== 'onestep') throw new UsageError(`--${flag} applies to the one-step stage's restored image (rddm train --mode onestep); stage ${stage} has none`);
  }
  if (colourFixSigma !== undefined) out.colourFixSigma = colourFixSigma;
  if (colourFixBand !== undefined) {
    if (colourFixBand > 0 && !(colourFixBand < (colourFixSigma ?? 0))) throw new UsageError(`--colour-fix-band (${colourFixBand}) must be below --colour-fix (${colourFixSigma ?? 'not given'}); pass both`);
    out.colourFixBand = colourFixBand;
  }
  if (flags['per-channel-exposure']) {
    // Stage 1 retrains the RVAE, so it may switch --init weights over to per-channel gains; later stages would only
    // see an RVAE trained for the other input.
    if (flags.init && stage !== 'rvae1') throw new UsageError('--per-channel-exposure changes the RVAE input, so only stage 1 (train-rvae --stage 1) can take it; later stages inherit it from --init');
    out.exposurePerChannel = true;
  }
  if (flags['lora-rank'] !== undefined) {
    // With --init, the one-step stage may widen the trained CMB-LoRA (runStage grows it); earlier stages would only
    // be told a rank their weights already fix.
    if (flags.init && stage !== 'onestep') throw new UsageError('--lora-rank chooses the LoRA of a run that starts from scratch, or grows it in the one-step stage (rddm train --mode onestep); the --init weights already fix it here');
    out.loraRank = intFlag(flags, 'lora-rank', 4, 1, 256);
  }
  for (const kind of ['vae', 'unet'] as const) {
    const v = flags[kind];
    if (v === undefined) continue;
    // With --resume it must name the run's own model again (loading its checkpoint checks every shape).
    if (flags.init) throw new UsageError(`--${kind} chooses the model of a run that starts from scratch; the --init weights already fix it`);
    const names = MODEL_CONFIG_NAMES.filter((n) => MODEL_CONFIGS[n].kind === kind);
    if (!names.includes(String(v) as ModelConfigName)) throw new UsageError(`--${kind} '${v}' is not a known ${kind === 'vae' ? 'VAE' : 'UNet'} config; known: ${names.join(', ')}`);
    out[kind] = String(v);
  }
  return out;
}

/** Parses and validates everything before the GPU starts; `extra` is the stage-selecting option (--stage/--mode). */
async function runFromArgs(args: string[], extra: string, stageOf: (value: string | undefined) => Stage): Promise<number> {
  const { flags, positionals } = parseArgs(args, { boolean: ['resume', 'permute-colours', 'per-channel-exposure', 'train-unet-base', 'train-decoder'], string: [...COMMON_FLAGS, extra] });
  noPositionals(positionals);
  const stage = stageOf(flags[extra] as string | undefined);
  const d = STAGE_DEFAULTS[stage];
  const runDir = String(flags.run ?? join('runs', stage));
  if (stage !== 'rvae1' && !flags.init && !flags.resume) throw new UsageError(`stage ${stage} builds on earlier stages: pass --init DIR (the previous stage's --out)`);
  const steps = intFlag(flags, 'steps', d.steps, 1);
  const seed = intFlag(flags, 'seed', 1, 0, 2 ** 32 - 1);
  const batch = intFlag(flags, 'batch', d.batch, 1, 1024);
  const crop = intFlag(flags, 'crop', d.crop, 8, 1 << 14);
  if (crop % 8) throw new UsageError(`--crop must be a multiple of 8 (the tiny models' alignment), got ${crop}`);
  const lr = positiveFlag(flags, 'lr', d.lr);
  const schedule = String(flags['lr-schedule'] ?? 'constant');
  if (schedule !== 'constant' && schedule !== 'cosine') throw new UsageError(`--lr-schedule must be constant or cosine, got '${schedule}'`);
  const degradeProb = probabilityFlag(flags, 'degrade-prob');
  const darkProb = probabilityFlag(flags, 'dark-prob');
  const timestep = flags.timestep !== undefined ? intFlag(flags, 'timestep', 999, 0, 999) : undefined;
  const timeLimitS = flags['time-limit'] !== undefined ? positiveFlag(flags, 'time-limit', 0) : undefined;
  const stopAt = flags['stop-at'] !== undefined ? intFlag(flags, 'stop-at', steps, 1) : undefined;
  if (stopAt !== undefined && stopAt >= steps) throw new UsageError(`--stop-at ${stopAt} must be below --steps ${steps} (it stops a run before its end; leave it out to run to the end)`);
  const maxMemoryBytes = flags['max-memory'] !== undefined ? positiveFlag(flags, 'max-memory', 0) * 2 ** 20 : undefined;
  if (flags.init) inputWeights(String(flags.init), 'weights manifest (--init DIR holds none)');
  const models = modelFlags(flags, stage);
  const posteriorLogvar = posteriorLogvarFlag(flags, stage);
  const trainUnetBase = Boolean(flags['train-unet-base']);
  if (trainUnetBase && stage !== 'onestep') throw new UsageError(`--train-unet-base trains the UNet's base weights in the one-step stage (rddm train --mode onestep); stage ${stage} ${stage === 'unet' ? 'trains them already' : 'has no UNet to train'}`);
  const trainDecoder = Boolean(flags['train-decoder']);
  if (trainDecoder && stage !== 'onestep') throw new UsageError(`--train-decoder trains the RVAE's decoder in the one-step stage (rddm train --mode onestep); stage ${stage} ${stage === 'rvae1' ? 'trains it already' : 'keeps it frozen'}`);
  const lossWeights = lossWeightFlags(flags, stage);
  await runStage({
    stage,
    steps,
    runDir,
    initDir: flags.init as string | undefined,
    outDir: String(flags.out ?? join(runDir, 'weights')),
    resume: Boolean(flags.resume),
    photos: (await loadPhotos('train')).map((p) => p.image),
    seed,
    batch,
    crop,
    lr,
    timestep,
    timeLimitS,
    ...(stopAt !== undefined ? { stopAt } : {}),
    maxMemoryBytes,
    config: models,
    posteriorLogvar,
    permuteChannels: Boolean(flags['permute-colours']),
    trainUnetBase,
    trainDecoder,
    lossWeights,
    ...(degradeProb !== undefined ? { degradeProb } : {}),
    ...(darkProb ? { darkProb } : {}),
    ...(schedule === 'cosine' ? { lrSchedule: 'cosine' as const } : {}),
  });
  return 0;
}

export const trainRvae: Command = {
  name: 'train-rvae',
  summary: 'train the RAW-domain VAE: --stage 1 (linear reconstruction) or --stage 2 (E_raw with CMB-LoRA, D_lin frozen)',
  usage: `usage: rddm train-rvae --stage 1|2 [options]\n${COMMON}`,
  run: (args) =>
    runFromArgs(args, 'stage', (v) => {
      if (v !== '1' && v !== '2') throw new UsageError(`--stage must be 1 or 2${v === undefined ? '' : `, got '${v}'`}`);
      return v === '1' ? 'rvae1' : 'rvae2';
    }),
};

export const trainDiffusion: Command = {
  name: 'train',
  summary: 'train the diffusion UNet: --mode onestep (dual-domain CMB-LoRA, default) or multistep (ε-prediction)',
  usage: `usage: rddm train [--mode onestep|multistep] [options]\n${COMMON}`,
  run: (args) =>
    runFromArgs(args, 'mode', (v = 'onestep') => {
      if (v !== 'onestep' && v !== 'multistep') throw new UsageError(`--mode must be onestep or multistep, got '${v}'`);
      return v === 'onestep' ? 'onestep' : 'unet';
    }),
};
