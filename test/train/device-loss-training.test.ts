// A GPU device lost in the middle of training (a driver reset: the GPUDevice is destroyed under the engine), with
// the tiny RDDM config: the run stops with a DeviceLostError naming the last complete checkpoint, that checkpoint
// stays loadable (never half-written, also when the loss hits while a checkpoint is being written), the log and
// loss plot are written, and after init() a resumed run finishes with the losses of an uninterrupted one.
// In its own file (its own worker process), as it destroys devices.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DeviceLostError, getDevice, init, manualSeed } from '../../src/index.js';
import { RddmSystem, DEFAULT_RDDM_CONFIG } from '../../src/rddm/system.js';
import { makeStageTask } from '../../src/rddm/tasks.js';
import type { SrgbImage } from '../../src/raw/synth-batch.js';
import { train } from '../../src/train/loop.js';
import { DirRunStore } from '../../src/node/run-store.js';

const dir = mkdtempSync(join(tmpdir(), 'rddm-devloss-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function photo(seed: number, size = 24): SrgbImage {
  const data = new Float32Array(size * size * 3);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) data.set([0.2 + 0.5 * (x / size), 0.3 + 0.4 * (y / size) + 0.1 * Math.sin(x + seed), 0.6 - 0.3 * (x / size)], (y * size + x) * 3);
  return { data, width: size, height: size };
}

const STEPS = 4;

/** The way a driver reset looks to the engine: the GPUDevice goes away without destroyDevice(). */
const loseDevice = (): void => getDevice().device.destroy();

interface Faults {
  /** Lose the device inside the loss of this 0-based step. */
  inStep?: number;
  /** Lose the device just before the checkpoint of this step is written. */
  beforeCheckpoint?: number;
}

async function run(run: string, resume: boolean, faults: Faults = {}): Promise<number[]> {
  await init();
  manualSeed(5);
  const sys = new RddmSystem({ ...DEFAULT_RDDM_CONFIG });
  sys.nameParameters();
  sys.train();
  const task = makeStageTask(sys, 'rvae1', { photos: [photo(0), photo(3)], seed: 11, batch: 1, crop: 16, lr: 2e-3 });
  // The loop reads a step's data through `inputs` (captured steps) or `loss` (op by op): fault both.
  const loss = task.loss;
  task.loss = (step) => {
    if (step === faults.inStep) loseDevice();
    return loss(step);
  };
  const inputs = task.inputs!;
  task.inputs = (step) => {
    if (step === faults.inStep) loseDevice();
    return inputs(step);
  };
  const store = new DirRunStore(run);
  const append = store.appendLog.bind(store);
  // The loop logs a step's record right before that step's checkpoint is serialised.
  store.appendLog = async (r) => {
    await append(r);
    if (r.step === faults.beforeCheckpoint && !r.event) loseDevice();
  };
  const result = await train(task, { steps: STEPS, seed: 11, config: { stage: 'rvae1' }, store, resume, checkpointEvery: 1, clipNorm: 1, log: () => {} });
  return result.history.map((h) => h.loss);
}

const logOf = (run: string) => readFileSync(join(run, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

async function checkpointStep(run: string): Promise<number> {
  const store = new DirRunStore(run);
  const ck = await store.loadCheckpoint();
  return ck!.state.step;
}

describe('GPU device lost during training', () => {
  it('stops naming the intact checkpoint, and --resume after init() reproduces the uninterrupted losses', async () => {
    const reference = await run(join(dir, 'ref'), false);
    expect(reference.length).toBe(STEPS);

    for (const [name, faults, lastGood] of [
      ['mid-step', { inStep: 2 }, 2],
      ['mid-checkpoint', { beforeCheckpoint: 3 }, 2],
    ] as const) {
      const r = join(dir, name);
      const err = await run(r, false, faults).then(() => null, (e: unknown) => e);
      expect(err, name).toBeInstanceOf(DeviceLostError);
      expect((err as Error).message).toMatch(new RegExp(`^training stopped at step 3: the GPU device was lost \\(destroyed: .*\\); the checkpoint of step ${lastGood} is intact; --resume continues from it$`));
      // The surviving checkpoint is complete and loadable; no temporary file is left beside it.
      expect(await checkpointStep(r)).toBe(lastGood);
      expect(readdirSync(r).filter((f) => f.includes('.tmp-'))).toEqual([]);
      expect(logOf(r).at(-1)).toMatchObject({ event: 'device-lost', lastCheckpoint: lastGood });
      expect(existsSync(join(r, 'loss.png'))).toBe(true);

      const resumed = await run(r, true);
      expect(resumed, name).toEqual(reference);
      expect(logOf(r).map((l) => l.step)).toEqual([1, 2, 3, 4]);
    }
  }, 300_000);
});
