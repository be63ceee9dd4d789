// A seeded tiny-UNet training run (ε-prediction on random latents, AdamW with weight decay, global-norm clipping),
// written against the public API only, so the same file runs on an older checkout. It gives two things:
// - `trainLosses(steps)`: the loss of every step, which test/train/loss-parity.test.ts compares with the losses the
//   engine at fcee170 gave (test/train/data/fcee170-losses.json, written by this file run in that checkout);
// - as a script, `node scripts/run-ts.mjs bench/train-steps.ts [--steps N] [--warmup N] [--losses FILE]`: ms per
//   step and dispatches per step, measured without the profiler (its per-dispatch timestamps cost time too).
import { init, getDevice, randn, tidy, manualSeed } from '../src/index.js';
import { UNet2DConditionModel } from '../src/models/unet.js';
import { getModelConfig, type UNetConfig } from '../src/models/configs.js';
import { NullTextContext } from '../src/models/text-context.js';
import { AdamW } from '../src/optim/adamw.js';
import { clipGradNorm } from '../src/optim/clip.js';

export interface TrainRun {
  losses: number[];
  /** Wall milliseconds of each step (loss read back included). */
  stepMs: number[];
  /** Dispatches of each step. */
  dispatches: number[];
}

export async function trainLosses(steps: number, opts: { config?: string; size?: number } = {}): Promise<TrainRun> {
  await init();
  const dev = getDevice();
  manualSeed(1);
  const cfg = getModelConfig(opts.config ?? 'tiny-unet') as UNetConfig;
  const unet = new UNet2DConditionModel(cfg);
  const ctx = new NullTextContext(cfg);
  const params = [...unet.parameters(), ...ctx.parameters()];
  const opt = new AdamW(params, { lr: 1e-3, weightDecay: 1e-2 });
  const s = opts.size ?? 16;
  const run: TrainRun = { losses: [], stepMs: [], dispatches: [] };
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    const d0 = dev.batch.dispatchCount;
    const z = randn([2, cfg.inChannels, s, s], { seed: 1000 + i });
    const eps = randn([2, cfg.inChannels, s, s], { seed: 2000 + i });
    const loss = tidy(() => unet.forward(z.add(eps.mul(0.5)), 100 + 37 * i, ctx.forward(2)).sub(eps).square().mean());
    opt.zeroGrad();
    await loss.backward();
    clipGradNorm(params, 1.0).dispose();
    opt.step();
    run.losses.push(await loss.item());
    run.dispatches.push(dev.batch.dispatchCount - d0);
    run.stepMs.push(performance.now() - t0);
    for (const t of [z, eps, loss]) t.dispose();
  }
  opt.dispose();
  return run;
}

if (process.argv[1]?.endsWith('train-steps.ts')) {
  const arg = (name: string, def: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : def;
  };
  const steps = Number(arg('steps', '20'));
  const warmup = Number(arg('warmup', '3'));
  const run = await trainLosses(warmup + steps);
  const ms = run.stepMs.slice(warmup).sort((a, b) => a - b);
  const median = ms[Math.floor(ms.length / 2)];
  const out = { steps, median_ms: median, min_ms: ms[0], dispatches_per_step: run.dispatches[run.dispatches.length - 1], adapter: getDevice().adapter.description };
  console.log(JSON.stringify(out));
  const file = arg('losses', '');
  if (file) (await import('node:fs')).writeFileSync(file, JSON.stringify({ note: 'losses of bench/train-steps.ts trainLosses(50)', losses: run.losses.slice(0, 50) }, null, 1) + '\n');
  process.exit(0);
}
