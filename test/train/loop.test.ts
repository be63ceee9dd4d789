import { beforeAll, describe, expect, it } from 'vitest';
import { init, nn, optim, randn, manualSeed, type Tensor } from '../../src/index.js';
import { train, type TrainTask } from '../../src/train/loop.js';
import { MemoryRunStore } from '../../src/train/memory-store.js';

class TinyMlp extends nn.Module {
  fc1 = new nn.Linear(2, 16);
  fc2 = new nn.Linear(16, 1);
  forward(x: Tensor): Tensor {
    return this.fc2.forward(this.fc1.forward(x).tanh());
  }
}

/**
 * A regression task whose batch is a pure function of the step, as the loop requires. `poison` makes the loss
 * NaN at chosen steps; `poisonGrad` keeps the loss finite but makes the gradients NaN (the backward of sqrt at 0).
 */
function makeTask(lr = 5e-2, poison?: (step: number) => boolean, poisonGrad?: (step: number) => boolean): TrainTask {
  manualSeed(7);
  const model = new TinyMlp();
  const optimizer = new optim.AdamW(model.trainableParameters(), { lr, weightDecay: 0.01 });
  return {
    model,
    optimizer,
    loss(step) {
      const x = randn([32, 2], { seed: 1000 + step });
      const target = x.slice(1, 0, 1).mul(x.slice(1, 1, 2)).sin();
      const pred = model.forward(x);
      let loss = pred.sub(target).square().mean();
      if (poisonGrad?.(step)) loss = loss.add(pred.mul(0).abs().sqrt().mean());
      return { loss: poison?.(step) ? loss.mul(Number.NaN) : loss };
    },
  };
}

describe('training loop', () => {
  beforeAll(async () => {
    await init();
  });

  it('lowers the loss and a resumed run reproduces the uninterrupted losses exactly', async () => {
    const config = { name: 'mlp' };
    const full = await train(makeTask(), { steps: 24, seed: 3, config, store: new MemoryRunStore(), checkpointEvery: 6, log: () => {} });
    expect(full.history.length).toBe(24);
    const first = full.history.slice(0, 3).reduce((s, h) => s + h.loss, 0);
    const last = full.history.slice(-3).reduce((s, h) => s + h.loss, 0);
    expect(last).toBeLessThan(first * 0.7);

    const store = new MemoryRunStore();
    // "Interrupted" after 12 steps (the last checkpoint), then resumed with a fresh model and optimizer.
    await train(makeTask(), { steps: 12, seed: 3, config, store, checkpointEvery: 6, log: () => {} });
    store.log.push({ step: 13, loss: 123 }); // a record written after the checkpoint, before the kill
    const resumed = await train(makeTask(), { steps: 24, seed: 3, config, store, checkpointEvery: 6, resume: true, log: () => {} });
    expect(resumed.resumedFrom).toBe(12);
    expect(resumed.history.map((h) => h.loss)).toEqual(full.history.map((h) => h.loss));
    expect(store.log.map((r) => r.step)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
  });

  it('--resume refuses settings that differ from the checkpoint, by name, and leaves the checkpoint as it was', async () => {
    const config = { stage: 'x', lr: 1e-3, crop: 64, totalSteps: 6, rddm: { vae: 'a', exposurePerChannel: true } };
    const store = new MemoryRunStore();
    await train(makeTask(), { steps: 6, seed: 3, config, store, checkpointEvery: 3, log: () => {} });
    const saved = store.checkpoint;
    const changed = { ...config, crop: 32, rddm: { vae: 'a' } };
    await expect(train(makeTask(), { steps: 9, seed: 3, config: changed, store, resume: true, log: () => {} })).rejects.toThrow(
      /settings differ[\s\S]*crop: 64 → 32[\s\S]*rddm\.exposurePerChannel: true → absent[\s\S]*--init/,
    );
    expect(store.checkpoint).toBe(saved);
    // Extending the run (a larger total for the lr schedule) is allowed.
    const longer = await train(makeTask(), { steps: 9, seed: 3, config: { ...config, totalSteps: 9 }, store, resume: true, log: () => {} });
    expect([longer.resumedFrom, longer.history.length]).toEqual([6, 9]);
  });

  it('a run that starts from step 0 drops log records of an attempt killed before its first checkpoint', async () => {
    for (const resume of [false, true]) {
      const store = new MemoryRunStore();
      store.log.push({ step: 1, loss: 9 }); // the aborted attempt's only record; it never reached a checkpoint
      await train(makeTask(), { steps: 3, seed: 3, config: {}, store, resume, log: () => {} });
      expect(store.log.map((r) => r.step)).toEqual([1, 2, 3]);
      expect(store.log[0].loss).not.toBe(9);
    }
  });

  it('a time limit checkpoints and stops early, and --resume continues to the uninterrupted losses', async () => {
    const config = { name: 'mlp' };
    const full = await train(makeTask(), { steps: 10, seed: 3, config, store: new MemoryRunStore(), checkpointEvery: 100, log: () => {} });
    expect(full.stoppedAt).toBeNull();
    const store = new MemoryRunStore();
    const lines: string[] = [];
    // A zero budget is crossed by the first step: the run must save a checkpoint there even though 1 % 100 != 0.
    const cut = await train(makeTask(), { steps: 10, seed: 3, config, store, checkpointEvery: 100, timeLimitS: 0, log: (l) => lines.push(l) });
    expect(cut.stoppedAt).toBe(1);
    expect(cut.history.length).toBe(1);
    expect(lines.some((l) => /time limit of 0 s reached at step 1 of 10/.test(l))).toBe(true);
    const resumed = await train(makeTask(), { steps: 10, seed: 3, config, store, checkpointEvery: 100, resume: true, log: () => {} });
    expect(resumed.resumedFrom).toBe(1);
    expect(resumed.history.map((h) => h.loss)).toEqual(full.history.map((h) => h.loss));
  });

  it('stopAt checkpoints at that step, --resume continues to the uninterrupted losses, and a step already passed is refused', async () => {
    const config = { name: 'mlp' };
    const full = await train(makeTask(), { steps: 10, seed: 3, config, store: new MemoryRunStore(), checkpointEvery: 100, log: () => {} });
    const store = new MemoryRunStore();
    const lines: string[] = [];
    const cut = await train(makeTask(), { steps: 10, seed: 3, config, store, checkpointEvery: 100, stopAt: 4, log: (l) => lines.push(l) });
    expect(cut.stoppedAt).toBe(4);
    expect(cut.history.map((h) => h.loss)).toEqual(full.history.slice(0, 4).map((h) => h.loss));
    expect(lines).toContain('stop at step 4 reached: checkpoint saved; --resume continues the run');
    expect((await store.loadCheckpoint())!.state.step).toBe(4);
    await expect(train(makeTask(), { steps: 10, seed: 3, config, store, resume: true, stopAt: 4, log: () => {} })).rejects.toThrow(/stop at step 4 is not past the checkpoint's step 4/);
    const more = await train(makeTask(), { steps: 10, seed: 3, config, store, checkpointEvery: 100, resume: true, stopAt: 7, log: () => {} });
    expect(more.stoppedAt).toBe(7);
    const rest = await train(makeTask(), { steps: 10, seed: 3, config, store, checkpointEvery: 100, resume: true, log: () => {} });
    expect(rest.stoppedAt).toBeNull();
    expect(rest.history.map((h) => h.loss)).toEqual(full.history.map((h) => h.loss));
  });

  it('resumes a checkpoint taken before the last parameters had any gradient (a CMB-LoRA pattern not drawn yet)', async () => {
    // `late` is the last trainable parameter and joins the loss only from step 3 on, as the adapters of a Bayer
    // pattern the batches have not drawn yet: a checkpoint of step 2 holds no moments for it.
    class LateMlp extends TinyMlp {
      late = new nn.Linear(16, 1);
    }
    const makeLateTask = (): TrainTask => {
      manualSeed(7);
      const model = new LateMlp();
      const optimizer = new optim.AdamW(model.trainableParameters(), { lr: 5e-2, weightDecay: 0.01 });
      return {
        model,
        optimizer,
        loss(step) {
          const x = randn([32, 2], { seed: 1000 + step });
          const h = model.fc1.forward(x).tanh();
          const pred = step >= 2 ? model.fc2.forward(h).add(model.late.forward(h)) : model.fc2.forward(h);
          return { loss: pred.sub(x.slice(1, 0, 1)).square().mean() };
        },
      };
    };
    expect(makeLateTask().model.namedParameters().map(([n]) => n).slice(-2)).toEqual(['late.weight', 'late.bias']);
    const full = await train(makeLateTask(), { steps: 6, seed: 2, config: {}, store: new MemoryRunStore(), checkpointEvery: 100, log: () => {} });
    const store = new MemoryRunStore();
    await train(makeLateTask(), { steps: 6, seed: 2, config: {}, store, checkpointEvery: 100, stopAt: 2, log: () => {} });
    const resumed = await train(makeLateTask(), { steps: 6, seed: 2, config: {}, store, checkpointEvery: 100, resume: true, log: () => {} });
    expect(resumed.resumedFrom).toBe(2);
    expect(resumed.history.map((h) => h.loss)).toEqual(full.history.map((h) => h.loss));
  });

  it('skips a step with a non-finite loss and stops after repeated ones, naming a parameter', async () => {
    const lines: string[] = [];
    const once = await train(makeTask(1e-2, (s) => s === 2), { steps: 5, seed: 1, config: {}, store: new MemoryRunStore(), log: (l) => lines.push(l) });
    expect(once.skipped).toEqual([2]);
    expect(lines.some((l) => /step 3: loss is NaN; step skipped/.test(l))).toBe(true);
    await expect(
      train(makeTask(1e-2, (s) => s >= 1), { steps: 10, seed: 1, config: {}, store: new MemoryRunStore(), maxBadSteps: 3, log: () => {} }),
    ).rejects.toThrow(/3 steps in a row had a non-finite loss or gradient \(last at step 4: loss is NaN\).*first non-finite gradient: fc\d\.(weight|bias)/);
  });

  it('skips a step whose loss is finite but whose gradient is not, before it reaches the weights', async () => {
    const lines: string[] = [];
    const store = new MemoryRunStore();
    const task = makeTask(1e-2, undefined, (s) => s === 1);
    const r = await train(task, { steps: 4, seed: 1, config: {}, store, clipNorm: 1, checkpointEvery: 1, log: (l) => lines.push(l) });
    expect(r.skipped).toEqual([1]);
    expect(lines.find((l) => l.startsWith('step 2:'))).toMatch(/^step 2: gradient norm is NaN \(loss [\d.]+\); step skipped \(first non-finite gradient: fc\d\.(weight|bias)\)$/);
    expect(store.log.find((rec) => rec.step === 2)).toMatchObject({ skipped: true, gradNorm: 'NaN' });
    // The weights, and so every saved checkpoint, stayed finite.
    for (const p of task.model.parameters()) expect((await p.data()).every(Number.isFinite)).toBe(true);
    const ck = await store.loadCheckpoint();
    expect(Object.values(ck!.params).every((p) => p.data.every(Number.isFinite))).toBe(true);
    await expect(
      train(makeTask(1e-2, undefined, (s) => s >= 2), { steps: 10, seed: 1, config: {}, store: new MemoryRunStore(), maxBadSteps: 2, log: () => {} }),
    ).rejects.toThrow(/^training stopped: 2 steps in a row had a non-finite loss or gradient \(last at step 4: gradient norm is NaN \(loss [\d.]+\)\); first non-finite gradient: fc\d\.(weight|bias) — lower the learning rate or check the data$/);
  });
});
