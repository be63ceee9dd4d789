import { join } from 'node:path';
import { parseArgs, UsageError, type Command } from '../command.js';
import { runStage } from '../../node/train-stage.js';
import { loadPhotos } from '../../node/load-photos.js';
import type { Stage } from '../../rddm/tasks.js';

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
  --time-limit S   stop after S seconds of training (checkpoint + weights written; --resume continues)
  --timestep T     one-step restoration timestep (onestep mode; default 999, or what the --init weights say)`;

async function runFromArgs(stage: Stage, args: string[], extra: string[] = []): Promise<number> {
  const { flags } = parseArgs(args, { boolean: ['resume'], string: ['steps', 'run', 'init', 'out', 'seed', 'batch', 'crop', 'lr', 'timestep', 'time-limit', ...extra] });
  const d = STAGE_DEFAULTS[stage];
  const num = (k: string, def: number) => {
    if (flags[k] === undefined) return def;
    const v = Number(flags[k]);
    if (!Number.isFinite(v) || v <= 0) throw new UsageError(`--${k} must be a positive number, got '${flags[k]}'`);
    return v;
  };
  const runDir = String(flags.run ?? join('runs', stage));
  if (stage !== 'rvae1' && !flags.init && !flags.resume) throw new UsageError(`stage ${stage} builds on earlier stages: pass --init DIR (the previous stage's --out)`);
  await runStage({
    stage,
    steps: Math.round(num('steps', d.steps)),
    runDir,
    initDir: flags.init as string | undefined,
    outDir: String(flags.out ?? join(runDir, 'weights')),
    resume: Boolean(flags.resume),
    photos: (await loadPhotos('train')).map((p) => p.image),
    seed: Math.round(num('seed', 1)),
    batch: Math.round(num('batch', d.batch)),
    crop: Math.round(num('crop', d.crop)),
    lr: num('lr', d.lr),
    timestep: flags.timestep !== undefined ? Math.round(num('timestep', 999)) : undefined,
    timeLimitS: flags['time-limit'] !== undefined ? num('time-limit', 0) : undefined,
  });
  return 0;
}

export const trainRvae: Command = {
  name: 'train-rvae',
  summary: 'train the RAW-domain VAE: --stage 1 (linear reconstruction) or --stage 2 (E_raw with CMB-LoRA, D_lin frozen)',
  usage: `usage: rddm train-rvae --stage 1|2 [options]\n${COMMON}`,
  async run(args) {
    const i = args.indexOf('--stage');
    const stage = i >= 0 ? args[i + 1] : undefined;
    if (stage !== '1' && stage !== '2') throw new UsageError('--stage must be 1 or 2');
    return runFromArgs(stage === '1' ? 'rvae1' : 'rvae2', [...args.slice(0, i), ...args.slice(i + 2)]);
  },
};

export const trainDiffusion: Command = {
  name: 'train',
  summary: 'train the diffusion UNet: --mode onestep (dual-domain CMB-LoRA, default) or multistep (ε-prediction)',
  usage: `usage: rddm train [--mode onestep|multistep] [options]\n${COMMON}`,
  async run(args) {
    const i = args.indexOf('--mode');
    const mode = i >= 0 ? args[i + 1] : 'onestep';
    if (mode !== 'onestep' && mode !== 'multistep') throw new UsageError('--mode must be onestep or multistep');
    const rest = i >= 0 ? [...args.slice(0, i), ...args.slice(i + 2)] : args;
    return runFromArgs(mode === 'onestep' ? 'onestep' : 'unet', rest);
  },
};
