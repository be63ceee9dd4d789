// Seeded tiny end-to-end training: each RDDM stage, on a fixed batch, lowers its loss.
import { beforeAll, describe, expect, it } from 'vitest';
import { init, manualSeed, tidy } from '../../src/index.js';
import { RddmSystem, DEFAULT_RDDM_CONFIG } from '../../src/rddm/system.js';
import { makeStageTask, type Stage } from '../../src/rddm/tasks.js';
import type { SrgbImage } from '../../src/raw/synth-batch.js';

/** Smooth synthetic photos (gradients and a disc), so no data files are needed. */
function photo(seed: number, size = 24): SrgbImage {
  const data = new Float32Array(size * size * 3);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const d = Math.hypot(x - size / 2 - seed, y - size / 2) < size / 4 ? 0.35 : 0;
      data.set([0.2 + 0.5 * (x / size) + d, 0.3 + 0.4 * (y / size), 0.6 - 0.3 * (x / size) + d / 2], (y * size + x) * 3);
    }
  return { data, width: size, height: size };
}

async function lossesOf(sys: RddmSystem, stage: Stage, steps: number, lr: number): Promise<number[]> {
  const task = makeStageTask(sys, stage, { photos: [photo(0), photo(3)], seed: 11, batch: 2, crop: 16, lr });
  const out: number[] = [];
  for (let s = 0; s < steps; s++) {
    // The same batch every step: the loss of a model fitting it must fall.
    const { loss } = tidy(() => task.loss(0));
    task.optimizer.zeroGrad();
    await loss.backward();
    task.optimizer.step();
    out.push(await loss.item());
    loss.dispose();
  }
  task.optimizer.zeroGrad();
  task.optimizer.dispose();
  return out;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('RDDM training stages (tiny, seeded)', () => {
  beforeAll(async () => {
    await init();
  });

  it('RVAE stage 1, stage 2, the base UNet and the one-step dual-domain stage each lower their loss', async () => {
    manualSeed(5);
    const sys = new RddmSystem({ ...DEFAULT_RDDM_CONFIG, timestep: 250 });
    const report: string[] = [];
    for (const [stage, steps, lr] of [['rvae1', 14, 3e-3], ['rvae2', 10, 3e-3], ['unet', 12, 3e-3], ['onestep', 10, 2e-3]] as const) {
      if (stage === 'rvae2') {
        const src = new Map(sys.vae.namedParameters());
        sys.raw_encoder.loadStateDict(Object.fromEntries(sys.raw_encoder.namedParameters().map(([k]) => [k, src.get(k)!])));
        sys.applyLora();
      }
      const l = await lossesOf(sys, stage, steps, lr);
      report.push(`${stage}: ${l[0].toFixed(4)} -> ${l[l.length - 1].toFixed(4)}`);
      expect(l.every(Number.isFinite)).toBe(true);
      expect(mean(l.slice(-3)), `${stage} losses ${l.map((v) => v.toFixed(4)).join(' ')}`).toBeLessThan(mean(l.slice(0, 3)));
    }
    console.log(report.join('; '));
  }, 300_000);
});

describe('training with captured steps', () => {
  it('the one-step stage (one graph per CMB-LoRA pattern) and the UNet stage give the op-by-op losses and weights bit for bit', async () => {
    await init();
    const { train } = await import('../../src/train/loop.js');
    const { MemoryRunStore } = await import('../../src/train/memory-store.js');
    for (const stage of ['onestep', 'unet'] as const) {
      const runs: { losses: number[]; weights: Float32Array[] }[] = [];
      for (const capture of [false, true]) {
        manualSeed(4);
        const sys = new RddmSystem({ ...DEFAULT_RDDM_CONFIG, timestep: 250 });
        sys.train();
        const task = makeStageTask(sys, stage, { photos: [photo(0), photo(3), photo(5)], seed: 11, batch: 2, crop: 16, lr: 1e-3 });
        // 10 steps: the first pattern (steps 0, 4, 8) runs eagerly, records, then replays.
        const r = await train(task, { steps: 10, seed: 11, config: { stage }, store: new MemoryRunStore(), clipNorm: 1, capture, log: () => {} });
        const weights = await Promise.all(task.optimizer.params.map((p) => p.data()));
        runs.push({ losses: r.history.map((h) => h.loss as number), weights });
        task.optimizer.dispose();
      }
      expect(runs[1].losses, stage).toEqual(runs[0].losses);
      runs[1].weights.forEach((w, i) => expect(Array.from(w), `${stage} parameter ${i}`).toEqual(Array.from(runs[0].weights[i])));
    }
  }, 600_000);
});
