import { randn, rand, tidy, noGrad, manualSeed, capture, type Tensor } from '../../index.js';
import { UNet2DConditionModel } from '../../models/unet.js';
import { getModelConfig, type UNetConfig } from '../../models/configs.js';
import { NullTextContext } from '../../models/text-context.js';
import { AdamW } from '../../optim/adamw.js';
import { RddmSystem, DEFAULT_RDDM_CONFIG } from '../../rddm/system.js';
import { loadRddmDir } from '../../node/rddm-weights.js';

export interface WorkloadOptions {
  size?: number;
  config?: string;
  steps?: number;
  /** restore: a weights directory (e.g. weights/rddm-tiny) instead of random tiny weights. */
  weights?: string;
  /** train-step: run the ops eagerly every step instead of replaying a captured step. */
  eager?: boolean;
}

/** A workload: prepare once (allocations, data), then a function that runs one profiled iteration. */
export interface Workload {
  prepare(opts: WorkloadOptions): Promise<() => Promise<void>>;
}

export const profileWorkloads: Record<string, Workload> = {
  matmul: {
    async prepare(opts) {
      const n = opts.size ?? 1024;
      const a = randn([n, n], { seed: 1 });
      const b = randn([n, n], { seed: 2 });
      return async () => {
        const c = tidy(() => a.matmul(b));
        await c.data();
        c.dispose();
      };
    },
  },
  /**
   * One ε-prediction training step of a UNet config (default tiny-unet) on a batch of 2 latents: AdamW on every
   * parameter. Captured by default (`capture`: the profiled step is a replay); `eager` runs the ops each time.
   */
  'train-step': {
    async prepare(opts) {
      manualSeed(1);
      const cfg = getModelConfig(opts.config ?? 'tiny-unet') as UNetConfig;
      if (cfg.kind !== 'unet') throw new Error(`--config ${opts.config} is not a UNet config`);
      const unet = new UNet2DConditionModel(cfg);
      const ctx = new NullTextContext(cfg);
      const opt = new AdamW([...unet.parameters(), ...ctx.parameters()], { lr: 1e-4 });
      const s = opts.size ?? 16;
      const z = randn([2, cfg.inChannels, s, s], { seed: 2 });
      const eps = randn([2, cfg.inChannels, s, s], { seed: 3 });
      const trainStep = async (zi: Tensor, ei: Tensor) => {
        const loss = tidy(() => unet.forward(zi.add(ei.mul(0.5)), 500, ctx.forward(2)).sub(ei).square().mean());
        opt.zeroGrad();
        await loss.backward();
        opt.step();
        return loss;
      };
      const step = opts.eager ? trainStep : capture(trainStep);
      const run = async () => {
        const loss = await step(z, eps);
        await loss.item();
        loss.dispose();
      };
      // A captured step replays from its third call: run the eager and the recording call here.
      if (!opts.eager) for (let i = 0; i < 2; i++) await run();
      return run;
    },
  },
  /** One-step RDDM restoration of a random size×size mosaic: the tiny configs with random weights, or --weights. */
  restore: {
    async prepare(opts) {
      manualSeed(1);
      const sys = opts.weights ? (await loadRddmDir(opts.weights)).sys : new RddmSystem({ ...DEFAULT_RDDM_CONFIG, timestep: 250 });
      if (!opts.weights) sys.applyLora();
      sys.eval();
      const s = opts.size ?? 256;
      const m = rand([1, 1, s, s], { seed: 4 });
      return async () => {
        const out = noGrad(() => sys.restoreOneStep(m, 'RGGB'));
        await out.image.data();
        for (const t of [out.zL, out.zH, out.image]) t.dispose();
      };
    },
  },
};
