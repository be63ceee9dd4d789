// Issue 26, part 5 ("no over-smoothing"): at low noise, RDDM (the shipped weights, one step) must keep one-pixel
// lines. A grey image with dark and bright one-pixel lines (horizontal, vertical, diagonal) goes through the eval's
// synthesis (EVAL_SYNTH: IPTP with a sampled camera, mosaic, noise) at a level inside the lowest noise bin; each
// line's contrast (line minus the background two pixels to either side, mean of R, G, B in sRGB after the pair's
// own PTP) is compared with the clean reference's.
import { beforeAll, describe, expect, it } from 'vitest';
import { init, noGrad, type Tensor } from '../../src/index.js';
import { bilinearMethod, EVAL_SYNTH } from '../../src/eval/evaluate.js';
import { fixedNoiseCamera, noiseBinEdges, noiseRange, sampleNoiseInBin } from '../../src/eval/noise-bins.js';
import { loadRddmDir } from '../../src/node/rddm-weights.js';
import { HostRng } from '../../src/random/host-rng.js';
import { BAYER_PATTERNS } from '../../src/raw/bayer-pattern.js';
import { ptp } from '../../src/raw/ptp.js';
import { synthesizeBatch, type SrgbImage, type SynthBatch } from '../../src/raw/synth-batch.js';
import type { RddmSystem } from '../../src/rddm/system.js';
import { ceilingMethod } from '../../src/cli/commands/eval.js';

const SIZE = 64;
const BACKGROUND = 0.45;

/** One line: its pixels (y, x) and, for each, the two background pixels that measure it. */
interface Line {
  name: string;
  pixels: [number, number][];
  across: (y: number, x: number) => [[number, number], [number, number]];
}

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, k) => a + k);
// Horizontals span the width; verticals and the diagonal sit below them, so no two lines meet where measured.
const LINES: (Line & { value: number; drawn: [number, number][] })[] = [
  { name: 'horizontal dark', value: 0.1, drawn: range(0, SIZE).map((x) => [10, x]), pixels: range(6, 58).map((x) => [10, x]), across: (y, x) => [[y - 2, x], [y + 2, x]] },
  { name: 'horizontal bright', value: 0.9, drawn: range(0, SIZE).map((x) => [20, x]), pixels: range(6, 58).map((x) => [20, x]), across: (y, x) => [[y - 2, x], [y + 2, x]] },
  { name: 'vertical dark', value: 0.1, drawn: range(30, SIZE).map((y) => [y, 16]), pixels: range(36, 58).map((y) => [y, 16]), across: (y, x) => [[y, x - 2], [y, x + 2]] },
  { name: 'vertical bright', value: 0.9, drawn: range(30, SIZE).map((y) => [y, 30]), pixels: range(36, 58).map((y) => [y, 30]), across: (y, x) => [[y, x - 2], [y, x + 2]] },
  { name: 'diagonal dark', value: 0.1, drawn: range(30, 52).map((y) => [y, y + 12]), pixels: range(34, 48).map((y) => [y, y + 12]), across: (y, x) => [[y, x - 2], [y, x + 2]] },
];

function linesImage(): SrgbImage {
  const data = new Float32Array(SIZE * SIZE * 3).fill(BACKGROUND);
  for (const l of LINES) for (const [y, x] of l.drawn) data.fill(l.value, 3 * (y * SIZE + x), 3 * (y * SIZE + x) + 3);
  return { data, width: SIZE, height: SIZE };
}

/** Mean of R, G, B in sRGB (PTP with the pair's camera) of camera-linear [1,3,H,W]. */
async function grey(x: Tensor, b: SynthBatch): Promise<Float32Array> {
  const s = noGrad(() => ptp(x, { wbGains: b.wbGains, cam2rgb: b.cam2rgb }));
  const v = await s.data();
  s.dispose();
  const plane = SIZE * SIZE;
  return Float32Array.from({ length: plane }, (_, i) => (v[i] + v[plane + i] + v[2 * plane + i]) / 3);
}

/** Each line's mean contrast over its measured pixels: line − background, signed so the clean line's is positive. */
function contrasts(img: Float32Array): number[] {
  const at = ([y, x]: [number, number]) => img[y * SIZE + x];
  return LINES.map((l) => {
    const sign = Math.sign(l.value - BACKGROUND);
    return l.pixels.reduce((s, [y, x]) => {
      const [a, b] = l.across(y, x);
      return s + sign * (at([y, x]) - (at(a) + at(b)) / 2);
    }, 0) / l.pixels.length;
  });
}

let sys: RddmSystem;
beforeAll(async () => {
  await init();
  sys = (await loadRddmDir('weights/rddm-tiny')).sys;
}, 120_000);

describe('fine lines at low noise', () => {
  /**
   * Retained contrast (restored / clean) per line, averaged over the four patterns, for RDDM and bilinear; also for
   * RDDM's ceiling (a perfect latent through the same decoder and output stage), printed only: it tells whether the
   * decoder or the one-step stage loses the lines.
   */
  async function measure(): Promise<{ rddm: number[]; bilinear: number[]; ceiling: number[] }> {
    const edges = noiseBinEdges(4, noiseRange());
    const noise = sampleNoiseInBin(new HostRng(26, 5), 0, edges);
    const sums = { rddm: LINES.map(() => 0), bilinear: LINES.map(() => 0), ceiling: LINES.map(() => 0) };
    for (const pattern of BAYER_PATTERNS) {
      const b = synthesizeBatch([linesImage()], { ...EVAL_SYNTH, cropSize: SIZE, patterns: [pattern], seed: 26, step: 5, camera: fixedNoiseCamera({}, noise) });
      try {
        const clean = contrasts(await grey(b.hqLinear, b));
        const outs = { rddm: noGrad(() => sys.restoreOneStep(b.lq, pattern).image), bilinear: await bilinearMethod(b), ceiling: await ceilingMethod(sys)(b) };
        for (const k of ['rddm', 'bilinear', 'ceiling'] as const) {
          const got = contrasts(await grey(outs[k], b));
          outs[k].dispose();
          got.forEach((c, i) => (sums[k][i] += c / clean[i] / BAYER_PATTERNS.length));
        }
      } finally {
        for (const t of [b.lq, b.hqLinear, b.srgb, b.wbGains, b.cam2rgb]) t.dispose();
      }
    }
    const table = LINES.map((l, i) => `${l.name}: rddm ${sums.rddm[i].toFixed(3)}, bilinear ${sums.bilinear[i].toFixed(3)}, ceiling ${sums.ceiling[i].toFixed(3)}`);
    console.log(`fine lines, retained contrast at σ(0.18) = ${Math.sqrt(noise.shotNoise * 0.18 + noise.readNoise).toFixed(4)}:\n  ${table.join('\n  ')}`);
    return sums;
  }

  // Fails with the shipped weights (the lean recipe's run, measured on lavapipe, signed contrast as above, mean of the
  // four patterns, σ(0.18) = 0.0048): RDDM retains 0.49 / 0.90 / 0.49 / 0.90 / 0.15 of the horizontal dark, horizontal
  // bright, vertical dark, vertical bright and diagonal lines (mean 0.585; 0.60 with the decoder stage at the default
  // pixel weight, 0.55 before the recipe's decoder stage, the previous tiny weights 0.28), bilinear 0.57 / 0.42 / 0.57 /
  // 0.42 / 0.36 (mean 0.47). So it keeps more than bilinear on average, but not 0.8 of every line: the dark lines and
  // the diagonal fade. Its ceiling (the shipped decoder and output stage given the perfect latent) retains 0.92 / 0.98
  // / 1.02 / 0.97 / 0.68: the diagonal is lost in the
  // decoder too. When retraining flips
  // this, vitest reports the test as failing, and the `.fails` marker must go (the threshold stays).
  it.fails('RDDM keeps at least 0.8 of every line\'s contrast and no less than bilinear demosaicing', async () => {
    const { rddm, bilinear } = await measure();
    const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
    console.log(`mean retained contrast: rddm ${mean(rddm).toFixed(3)}, bilinear ${mean(bilinear).toFixed(3)}`);
    for (const r of rddm) expect(r).toBeGreaterThanOrEqual(0.8);
    expect(mean(rddm)).toBeGreaterThanOrEqual(mean(bilinear));
  }, 300_000);
});
