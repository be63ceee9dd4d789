// CameraSamplerConfig.darkProb (rddm train --dark-prob): with probability p a camera's shot noise is drawn from the
// top quarter of its log range, the darkest scenes, else from the whole range; 0 leaves the sampler's stream as it was.
import { beforeAll, describe, expect, it } from 'vitest';
import { init } from '../../src/index.js';
import { DEFAULT_CAMERA_SAMPLER, sampleCameraBatch } from '../../src/raw/camera-params.js';
import { noiseBinEdges, noiseBinOf, noiseRange, noiseSigma } from '../../src/eval/noise-bins.js';
import { batchAt, disposeBatch, type StageOptions } from '../../src/rddm/tasks.js';
import type { SrgbImage } from '../../src/raw/synth-batch.js';
import { runCli } from '../../src/cli/cli.js';

const [lo, hi] = DEFAULT_CAMERA_SAMPLER.shotNoiseRange.map(Math.log) as [number, number];
const darkFrom = lo + 0.75 * (hi - lo);
const fractionDark = (shots: number[]) => shots.filter((s) => Math.log(s) >= darkFrom).length / shots.length;

describe('camera sampler darkProb', () => {
  const n = 4000;

  it('0 draws the same cameras as the default sampler', () => {
    expect(sampleCameraBatch(11, 50, { darkProb: 0 })).toEqual(sampleCameraBatch(11, 50));
  });

  it('1 draws every shot noise log-uniform in the top quarter of the range, mostly in eval\'s darkest noise bin', () => {
    const cams = sampleCameraBatch(11, n, { darkProb: 1 });
    const logs = cams.map((c) => Math.log(c.shotNoise));
    expect(Math.min(...logs)).toBeGreaterThanOrEqual(darkFrom);
    expect(Math.max(...logs)).toBeLessThan(hi);
    const mean = logs.reduce((s, x) => s + x, 0) / n;
    expect(Math.abs(mean - (darkFrom + hi) / 2)).toBeLessThan(0.03);
    // The read noise keeps its line and scatter through the chosen shot noise.
    const resid = cams.map((c) => Math.log(c.readNoise) - (DEFAULT_CAMERA_SAMPLER.readNoiseSlope * Math.log(c.shotNoise) + DEFAULT_CAMERA_SAMPLER.readNoiseIntercept));
    expect(Math.abs(resid.reduce((s, x) => s + x, 0) / n)).toBeLessThan(0.02);
    // `rddm eval`'s four bins: most of these cameras land in the last, against about a quarter without darkProb.
    const edges = noiseBinEdges(4, noiseRange());
    const lastBin = (cs: typeof cams) => cs.filter((c) => noiseBinOf(noiseSigma(c.shotNoise, c.readNoise), edges) === 3).length / cs.length;
    expect(lastBin(cams)).toBeGreaterThan(0.8);
    expect(lastBin(sampleCameraBatch(11, n))).toBeLessThan(0.35);
  });

  it('p mixes: a fraction p + (1 - p)/4 of the shot noises in the top quarter', () => {
    for (const p of [0, 0.25, 0.5]) {
      const f = fractionDark(sampleCameraBatch(3, n, { darkProb: p }).map((c) => c.shotNoise));
      expect(Math.abs(f - (p + (1 - p) / 4)), `darkProb ${p}: ${f}`).toBeLessThan(0.03);
    }
  });
});

describe('rddm train --dark-prob', () => {
  const size = 24;
  const photo: SrgbImage = { data: Float32Array.from({ length: size * size * 3 }, (_, i) => 0.2 + 0.6 * ((i * 7919) % 101) / 101), width: size, height: size };
  const opts: StageOptions = { photos: [photo], seed: 5, batch: 4, crop: 16, lr: 1e-3, degradeProb: 0 };
  const shotsOf = (o: StageOptions, steps: number) => {
    const out: number[] = [];
    for (let s = 0; s < steps; s++) {
      const b = batchAt(o, s);
      out.push(...b.params.map((c) => c.shotNoise));
      disposeBatch(b);
    }
    return out;
  };

  beforeAll(async () => {
    await init();
  });

  it('reaches the training batches: 1 makes every crop dark, 0 changes nothing', () => {
    const dark = shotsOf({ ...opts, darkProb: 1 }, 6);
    expect(dark.every((s) => Math.log(s) >= darkFrom)).toBe(true);
    const plain = shotsOf(opts, 6);
    expect(shotsOf({ ...opts, darkProb: 0 }, 6)).toEqual(plain);
    expect(fractionDark(plain)).toBeLessThan(1);
  });

  it('refuses a value outside [0, 1]', async () => {
    expect(await runCli(['train', '--init', 'weights/rddm-tiny', '--dark-prob', '1.5'])).toBe(2);
    expect(await runCli(['train', '--init', 'weights/rddm-tiny', '--dark-prob', 'most'])).toBe(2);
  });
});
