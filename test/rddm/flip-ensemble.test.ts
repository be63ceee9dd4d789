// The flip self-ensemble: mirrors are their own inverse, each mirrored mosaic is the mosaic of the mirrored image
// under the pattern flippedPattern names, an equivariant restorer (bilinear demosaicing) is unchanged by the
// ensemble while a position-dependent one is averaged, and restoreRaw's --ensemble equals the ensemble of the
// one-step restorer on a single tile.
import { beforeAll, describe, expect, it } from 'vitest';
import { init, manualSeed, noGrad, rand, tensor, tidy, type Tensor } from '../../src/index.js';
import { FLIPS, flipEnsemble, flipImage, flippedPattern } from '../../src/rddm/flip-ensemble.js';
import { BAYER_PATTERNS } from '../../src/raw/bayer-pattern.js';
import { demosaicBilinear, mosaic } from '../../src/raw/bayer.js';
import { restoreRaw } from '../../src/rddm/restore.js';
import { DEFAULT_RDDM_CONFIG, RddmSystem } from '../../src/rddm/system.js';
import { syntheticRaw } from '../helpers/rddm-fixtures.js';

beforeAll(async () => {
  await init();
});

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe('flip ensemble', () => {
  it('mirrors are their own inverse, and a mirrored mosaic is the mirrored image under the flipped pattern', async () => {
    const rgb = rand([1, 3, 6, 7], { seed: 3 }); // odd width: left-right mirrors change the pattern's column parity
    for (const pattern of BAYER_PATTERNS) {
      for (const [h, v] of FLIPS) {
        const twice = flipImage(flipImage(rgb, h, v), h, v);
        expect(maxDiff(await twice.data(), await rgb.data())).toBe(0);
        const a = flipImage(mosaic(rgb, pattern), h, v);
        const b = mosaic(flipImage(rgb, h, v), flippedPattern(pattern, 6, 7, h, v));
        expect(maxDiff(await a.data(), await b.data()), `${pattern} h=${h} v=${v}`).toBe(0);
      }
    }
    expect(flippedPattern('RGGB', 4, 4, true, false)).toBe('GRBG');
    expect(flippedPattern('RGGB', 4, 4, false, true)).toBe('GBRG');
    expect(flippedPattern('RGGB', 4, 4, true, true)).toBe('BGGR');
  });

  it('leaves an equivariant restorer unchanged and averages a position-dependent one', async () => {
    const m = mosaic(rand([1, 3, 8, 10], { seed: 5 }), 'GBRG');
    const bilinear = (x: Tensor, p: (typeof BAYER_PATTERNS)[number]) => demosaicBilinear(x, p);
    const single = await bilinear(m, 'GBRG').data();
    expect(maxDiff(await flipEnsemble(m, 'GBRG', bilinear).data(), single)).toBeLessThan(1e-6);
    // A restorer that adds its column index: mirrored and averaged, every column gets the mean index.
    const ramp = tensor(Float32Array.from({ length: 10 }, (_, x) => x), [1, 1, 1, 10]);
    const tilted = (x: Tensor, p: (typeof BAYER_PATTERNS)[number]) => tidy(() => demosaicBilinear(x, p).add(ramp));
    const got = await flipEnsemble(m, 'GBRG', tilted).data();
    expect(maxDiff(got, single.map((v) => v + 4.5))).toBeLessThan(1e-5);
  });

  it('restoreRaw with ensemble equals the ensemble of the one-step restorer on one tile', async () => {
    manualSeed(2);
    const sys = new RddmSystem({ ...DEFAULT_RDDM_CONFIG, timestep: 250 });
    sys.applyLora();
    sys.eval();
    const [W, H] = [32, 24];
    const codes = Uint16Array.from({ length: W * H }, (_, i) => 64 + ((i * 2654435761) >>> 20) % 3000);
    const raw = syntheticRaw(W, H, codes, 'GRBG');
    const res = await restoreRaw(sys, raw, { tile: 32, ensemble: true });
    const m = tensor(Float32Array.from(codes, (c) => (c - 64) / (4095 - 64)), [1, 1, H, W]);
    const expected = noGrad(() => flipEnsemble(m, 'GRBG', (x, p) => sys.restoreOneStep(x, p).image));
    expect(maxDiff(res.linear, await expected.data())).toBeLessThan(1e-4);
    const plain = await restoreRaw(sys, raw, { tile: 32 });
    expect(maxDiff(plain.linear, res.linear)).toBeGreaterThan(1e-4);
  }, 60_000);
});

describe('captured tile restores', () => {
  it('restoreRaw over several tiles (replaying each flip variant\'s captured step) equals the op-by-op restore bit for bit', async () => {
    manualSeed(3);
    const sys = new RddmSystem({ ...DEFAULT_RDDM_CONFIG, timestep: 250 });
    sys.applyLora();
    sys.eval();
    const [W, H] = [48, 40];
    const codes = Uint16Array.from({ length: W * H }, (_, i) => 64 + ((i * 2246822519) >>> 19) % 3000);
    const raw = syntheticRaw(W, H, codes, 'RGGB');
    // 16-pixel tiles: 9 of them, so every variant is replayed several times.
    const captured = await restoreRaw(sys, raw, { tile: 16, ensemble: true });
    // A stage callback makes restoreRaw run every tile op by op (it times each stage).
    const eager = await restoreRaw(sys, raw, { tile: 16, ensemble: true, onStage: () => {} });
    expect(maxDiff(captured.linear, eager.linear)).toBe(0);
  });
});
