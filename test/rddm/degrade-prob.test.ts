// StageOptions.degradeProb (rddm train --degrade-prob) sets how often the training pairs are blurred and resized.
import { beforeAll, describe, expect, it } from 'vitest';
import { init } from '../../src/index.js';
import { batchAt, disposeBatch, type StageOptions } from '../../src/rddm/tasks.js';
import type { SrgbImage } from '../../src/raw/synth-batch.js';
import { runCli } from '../../src/cli/cli.js';

const size = 24;
const photo: SrgbImage = { data: Float32Array.from({ length: size * size * 3 }, (_, i) => 0.2 + 0.6 * ((i * 7919) % 101) / 101), width: size, height: size };
const opts: StageOptions = { photos: [photo], seed: 5, batch: 4, crop: 16, lr: 1e-3 };

/** The degradations of `steps` batches, and the batches' tensors released. */
function plansOf(o: StageOptions, steps: number) {
  const plans = [];
  for (let s = 0; s < steps; s++) {
    const b = batchAt(o, s);
    plans.push(...b.degradations);
    disposeBatch(b);
  }
  return plans;
}

describe('degradeProb', () => {
  beforeAll(async () => {
    await init();
  });

  it('0 leaves every pair sharp, 1 blurs and resizes every one, and the default mixes', () => {
    const none = plansOf({ ...opts, degradeProb: 0 }, 4);
    expect(none.every((p) => p.blur === null && p.scale === 1)).toBe(true);
    const all = plansOf({ ...opts, degradeProb: 1 }, 4);
    expect(all.every((p) => p.blur !== null && p.scale > 1)).toBe(true);
    const mixed = plansOf(opts, 8);
    expect(mixed.some((p) => p.blur === null) && mixed.some((p) => p.blur !== null)).toBe(true);
  });

  it('rddm train refuses a value outside [0, 1]', async () => {
    expect(await runCli(['train', '--init', 'weights/rddm-tiny', '--degrade-prob', '1.5'])).toBe(2);
    expect(await runCli(['train', '--init', 'weights/rddm-tiny', '--degrade-prob', 'half'])).toBe(2);
  });
});
