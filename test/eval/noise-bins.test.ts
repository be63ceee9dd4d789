// Noise-level bins of `rddm eval` (src/eval/noise-bins.ts) against hand-computed values, and empty bins end to end.
import { beforeAll, describe, expect, it } from 'vitest';
import { init } from '../../src/index.js';
import { bilinearMethod, evaluateDetailed, formatNoiseBinTable } from '../../src/eval/evaluate.js';
import { fixedNoiseCamera, noiseBinEdges, noiseBinOf, noiseRange, noiseSigma, sampleNoiseInBin } from '../../src/eval/noise-bins.js';
import { HostRng } from '../../src/random/host-rng.js';
import { DEFAULT_CAMERA_SAMPLER, sampleCameraParams } from '../../src/raw/camera-params.js';

describe('noise bins', () => {
  it('σ(0.18) and the default range match the hand computation', () => {
    // sqrt(0.18·λ_shot + λ_read): 0.18·0.01 + 0.0007 = 0.0025.
    expect(noiseSigma(0.01, 0.0007)).toBeCloseTo(0.05, 15);
    // Ends of λ_shot's range [1e-4, 1.2e-2] with λ_read = exp(2.18·ln λ_shot + 1.2), in float64 by hand (Python).
    const [low, high] = noiseRange();
    expect(low).toBeCloseTo(0.004243386189398193, 15);
    expect(high).toBeCloseTo(0.048740737075735986, 15);
  });

  it('splits the range evenly in log σ', () => {
    expect(noiseBinEdges(4, [1e-3, 1e-1]).map((e) => Math.log10(e))).toEqual([-3, -2.5, -2, -1.5, -1].map((v) => expect.closeTo(v, 12)));
    const edges = noiseBinEdges(4, noiseRange());
    const hand = [0.004243386189398194, 0.007811913792870921, 0.014381438404007667, 0.02647568522287251, 0.048740737075735986];
    edges.forEach((e, i) => expect(e).toBeCloseTo(hand[i], 15));
    expect(() => noiseBinEdges(1, [1e-3, 1e-1])).toThrow(/>= 2/);
    expect(() => noiseBinEdges(4, [1e-1, 1e-3])).toThrow(/0 < low < high/);
  });

  it('puts a value on an inner edge in the bin above, and values outside the range in the end bins', () => {
    const e = noiseBinEdges(4, [1e-3, 1e-1]);
    expect(noiseBinOf(e[0], e)).toBe(0);
    expect(noiseBinOf(e[1], e)).toBe(1);
    expect(noiseBinOf(e[1] * (1 - 1e-12), e)).toBe(0);
    expect(noiseBinOf(e[2], e)).toBe(2);
    expect(noiseBinOf(e[3], e)).toBe(3);
    expect(noiseBinOf(e[4], e)).toBe(3);
    expect(noiseBinOf(1e-9, e)).toBe(0);
    expect(noiseBinOf(10, e)).toBe(3);
    expect([0.002, 0.004, 0.02, 0.05].map((v) => noiseBinOf(v, e))).toEqual([0, 1, 2, 3]);
  });

  it('sweeps: levels land in the asked bin and keep the read noise on the sampler line with its scatter', () => {
    const edges = noiseBinEdges(4, noiseRange());
    const { readNoiseSlope: slope, readNoiseIntercept: c, readNoiseStd: std } = DEFAULT_CAMERA_SAMPLER;
    for (let k = 0; k < 64; k++) {
      const bin = k % 4;
      const n = sampleNoiseInBin(new HostRng(3, k), bin, edges);
      expect(noiseBinOf(noiseSigma(n.shotNoise, n.readNoise), edges)).toBe(bin);
      expect(Math.abs(Math.log(n.readNoise) - slope * Math.log(n.shotNoise) - c)).toBeLessThan(5 * std);
    }
    // The override fixes the noise and leaves the camera's other draws as they were.
    const noise = sampleNoiseInBin(new HostRng(3, 0), 2, edges);
    const free = sampleCameraParams(new HostRng(9, 1));
    const fixed = sampleCameraParams(new HostRng(9, 1), fixedNoiseCamera({}, noise));
    expect(fixed.shotNoise).toBeCloseTo(noise.shotNoise, 15);
    expect(fixed.readNoise / noise.readNoise).toBeCloseTo(1, 12);
    expect([fixed.cam2rgb, fixed.wbGains]).toEqual([free.cam2rgb, free.wbGains]);
  });
});

describe('evaluateDetailed bins', () => {
  beforeAll(async () => {
    await init();
  });

  const size = 24;
  const photo = { data: Float32Array.from({ length: size * size * 3 }, (_, i) => 0.2 + (0.6 * ((i * 7919) % 101)) / 101), width: size, height: size };

  it('reports empty bins with count 0 and null scores, and the sweep fills every bin', async () => {
    // A camera pinned near the low end of the range: every crop in bin 0.
    const opts = { photos: [photo], seed: 2, crop: 16, patterns: ['RGGB', 'GBRG'] as const, methods: { bilinear: bilinearMethod }, cropsPerImage: 3 };
    const quiet = await evaluateDetailed({ ...opts, synth: { camera: { shotNoiseRange: [1e-4, 1.1e-4] } } });
    expect(quiet.bins.map((b) => b.count)).toEqual([3, 0, 0, 0]);
    expect(quiet.bins[1].rows).toEqual([{ method: 'bilinear', psnr_srgb: null, ssim_srgb: null, psnr_linear: null, ssim_linear: null }]);
    expect(quiet.bins[0].rows[0].psnr_srgb).toBeCloseTo(quiet.rows.reduce((s, r) => s + r.psnr_srgb, 0) / 2, 9);
    expect(formatNoiseBinTable(quiet.bins)).toMatch(/\| 1 \| 0\.0078–0\.0144 \| 0 \| \(no crops in this bin\) \|/);
    const swept = await evaluateDetailed({ ...opts, cropsPerImage: 4, noiseSweep: true });
    expect(swept.bins.map((b) => b.count)).toEqual([1, 1, 1, 1]);
  });
});
