import { beforeAll, describe, expect, it } from 'vitest';
import { init, randn, tensor } from '../../src/index.js';
import type { BayerPattern } from '../../src/raw/bayer-pattern.js';
import { mosaic } from '../../src/raw/bayer.js';
import { mosaicNoise } from '../../src/raw/noise.js';
import { mnsRef } from '../reference/raw-noise.js';
import { expectClose, randomArray } from './helpers.js';

beforeAll(async () => {
  await init();
});

const PATS: BayerPattern[] = ['GBRG', 'RGGB', 'BGGR'];
const [N, H, W] = [3, 9, 13];
const shot = [1e-3, 1.2e-2, 1e-4];
const read = [1e-6, 2.2e-4, 6e-9];

describe('mosaic noise synthesizer', () => {
  it('unquantised output matches the float64 reference within 1e-5', async () => {
    const x = randomArray(41, N * 3 * H * W);
    const out = await mosaicNoise(tensor(x, [N, 3, H, W]), { patterns: PATS, shotNoise: shot, readNoise: read, seed: 1234, stream: 5 }).data();
    const ref = mnsRef(x, N, H, W, { patterns: PATS, shot, read, seed: 1234, stream: 5 }).out;
    expectClose(out, ref, 1e-5, 0, 'mns');
  });

  it('quantised output equals the reference bit for bit (away from rounding boundaries)', async () => {
    const x = randomArray(42, N * 3 * H * W);
    const quantize = { bitDepth: 12, blackLevel: 256, whiteLevel: 4095 };
    const out = await mosaicNoise(tensor(x, [N, 3, H, W]), { patterns: PATS, shotNoise: shot, readNoise: read, seed: 99, stream: 1, quantize }).data();
    const { out: ref, preRound } = mnsRef(x, N, H, W, { patterns: PATS, shot, read, seed: 99, stream: 1, quantize });
    // WGSL's log/cos/sqrt are not correctly rounded, so a GPU's normal can differ from the float64 one in the
    // 7th digit: a value within 1e-3 code of a rounding boundary may legitimately land on the other side on
    // some device. Such pixels are counted; all others must match exactly.
    let nearBoundary = 0;
    let mismatches = 0;
    for (let t = 0; t < ref.length; t++) {
      const near = Math.abs(preRound[t] + 0.5 - Math.round(preRound[t] + 0.5)) < 1e-3;
      if (near) nearBoundary++;
      if (out[t] !== ref[t]) {
        mismatches++;
        expect(near, `pixel ${t}: ${out[t]} vs ${ref[t]} (pre-round ${preRound[t]})`).toBe(true);
      }
    }
    console.log(`MNS quantised: ${ref.length} pixels, ${mismatches} differ from the reference, ${nearBoundary} within 1e-3 code of a rounding boundary`);
    expect(nearBoundary).toBeLessThan(ref.length / 100);
    // Codes really are on the 12-bit grid and clipped to [0, white].
    for (const v of out) {
      const code = v * (4095 - 256) + 256;
      expect(Math.abs(code - Math.round(code))).toBeLessThan(1e-3);
      expect(code).toBeGreaterThanOrEqual(-1e-3);
      expect(code).toBeLessThanOrEqual(4095 + 1e-3);
    }
  });

  it('is reproducible from (seed, stream), and its noise is exactly the randn draw of that (seed, stream)', async () => {
    const x = tensor(randomArray(43, N * 3 * H * W), [N, 3, H, W]);
    const opts = { patterns: PATS, shotNoise: shot, readNoise: read, seed: 7, stream: 3 };
    const a = await mosaicNoise(x, opts).data();
    expectClose(await mosaicNoise(x, opts).data(), a, 0, 0, 'same seed');
    const b = await mosaicNoise(x, { ...opts, stream: 4 }).data();
    expect(a.some((v, i) => v !== b[i])).toBe(true);
    const clean = await mosaic(x, PATS).data();
    const z = await randn([N * H * W], { seed: 7, stream: 3 }).data();
    for (let t = 0; t < a.length; t++) {
      const b0 = Math.floor(t / (H * W));
      const sigma = Math.sqrt(shot[b0] * clean[t] + read[b0]);
      expect(Math.abs(a[t] - (clean[t] + sigma * z[t]))).toBeLessThan(1e-6);
    }
  });

  it('noise statistics on flat 256x256 patches: mean = x and variance = λ_shot·x + λ_read within 3%', async () => {
    const cases: [number, number, number][] = [
      [0.05, 1e-4, 6.3e-9],
      [0.5, 1e-4, 6.3e-9],
      [0.2, 1e-3, 9.6e-7],
      [0.8, 1e-3, 9.6e-7],
      [0.02, 1.2e-2, 2.2e-4],
      [0.1, 1.2e-2, 2.2e-4],
      [0.9, 5e-3, 5e-5],
    ];
    const S = 256;
    const n = cases.length;
    const x = new Float32Array(n * 3 * S * S);
    cases.forEach(([v], i) => x.fill(v, i * 3 * S * S, (i + 1) * 3 * S * S));
    const out = await mosaicNoise(tensor(x, [n, 3, S, S]), {
      patterns: ['RGGB', 'BGGR', 'GRBG', 'GBRG', 'RGGB', 'BGGR', 'GRBG'],
      shotNoise: cases.map((c) => c[1]),
      readNoise: cases.map((c) => c[2]),
      seed: 2024,
    }).data();
    const rows: string[] = ['       x    λ_shot    λ_read        mean   mean err     variance   expected var   var err'];
    for (let i = 0; i < n; i++) {
      const [v, ls, lr] = cases[i];
      const px = out.subarray(i * S * S, (i + 1) * S * S);
      let m = 0;
      for (const p of px) m += p;
      m /= px.length;
      let s2 = 0;
      for (const p of px) s2 += (p - m) ** 2;
      s2 /= px.length - 1;
      const expected = ls * v + lr;
      const meanErr = (m - v) / v;
      const varErr = (s2 - expected) / expected;
      rows.push(
        `${v.toFixed(2).padStart(8)} ${ls.toExponential(1).padStart(9)} ${lr.toExponential(1).padStart(9)}  ${m.toFixed(6).padStart(10)} ${(100 * meanErr).toFixed(3).padStart(8)}%  ${s2.toExponential(4).padStart(11)}  ${expected.toExponential(4).padStart(13)} ${(100 * varErr).toFixed(2).padStart(8)}%`,
      );
      expect(Math.abs(meanErr)).toBeLessThan(0.03);
      expect(Math.abs(varErr)).toBeLessThan(0.03);
    }
    console.log(`MNS noise statistics (${S}x${S} pixels per case):\n${rows.join('\n')}`);
  });

  it('checks its arguments', () => {
    const x = tensor(randomArray(44, 3 * 4 * 4), [1, 3, 4, 4]);
    expect(() => mosaicNoise(x, { patterns: 'RGGB', shotNoise: [1, 2], readNoise: 0, seed: 1 })).toThrow(/2 values of shotNoise for a batch of 1/);
    expect(() => mosaicNoise(x, { patterns: 'RGGB', shotNoise: 0, readNoise: 0, seed: 1, quantize: { bitDepth: 12, blackLevel: 0, whiteLevel: 5000 } })).toThrow(/4095/);
  });
});
