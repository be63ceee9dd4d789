// RddmConfig.exposurePerChannel: one exposure gain per colour channel, from a linear image's channel means or a
// mosaic's colour-site means; the RAW path applies them to the mosaic's colour planes; restoreRaw computes them for
// the whole photo; and a per-colour scaling of the mosaic (a different white balance) only scales the output.
import { beforeAll, describe, expect, it } from 'vitest';
import { init, randn, tensor, tidy, noGrad, manualSeed } from '../../src/index.js';
import { RddmSystem, DEFAULT_RDDM_CONFIG } from '../../src/rddm/system.js';
import { restoreRaw } from '../../src/rddm/restore.js';
import { sparseRGB } from '../../src/raw/bayer.js';
import { rampImageAndMosaic, syntheticRaw } from '../helpers/rddm-fixtures.js';

beforeAll(async () => {
  await init();
});

const maxRel = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (1e-3 + Math.abs(b[i])));
  return worst;
};

describe('per-channel exposure normalisation', () => {
  it('gains are target / channel mean for an image, target / colour-site mean for its mosaic, and undo exactly', async () => {
    const sys = new RddmSystem({ ...DEFAULT_RDDM_CONFIG, exposurePerChannel: true });
    const [h, w] = [8, 8];
    const { img, mos } = rampImageAndMosaic(h, w);
    const lin = tensor(img, [1, 3, h, w]);
    const m = tensor(mos, [1, 1, h, w]);
    const gl = sys.exposureGain(lin)!;
    const gm = sys.exposureGain(m, 'RGGB')!;
    expect([gl.shape, gm.shape]).toEqual([[1, 3, 1, 1], [1, 3, 1, 1]]);
    const means = [0, 1, 2].map((c) => img.subarray(c * h * w, (c + 1) * h * w).reduce((a, v) => a + v, 0) / (h * w));
    const [vl, vm] = [await gl.data(), await gm.data()];
    for (let c = 0; c < 3; c++) {
      expect(vl[c]).toBeCloseTo(0.2 / means[c], 3);
      // The sites sample the ramps at one phase: within a few percent of the full channel mean.
      expect(Math.abs(vm[c] - vl[c]) / vl[c]).toBeLessThan(0.05);
    }
    // A mosaic's gains depend on which sites are which colour.
    expect(() => sys.exposureGain(m)).toThrow(/needs its Bayer pattern: pass it as the second argument/);
    const back = sys.fromModelDomain(sys.toModelDomain(lin, gl), gl);
    expect(maxRel(await back.data(), img)).toBeLessThan(1e-4);
    for (const t of [lin, m, gl, gm, back]) t.dispose();
  });

  it('one-step restoration applies the gains to the colour planes and divides them out of the decoded image', async () => {
    manualSeed(4);
    const e = 1e-3;
    const sys = new RddmSystem({ ...DEFAULT_RDDM_CONFIG, timestep: 300, latentScale: 0.7, exposurePerChannel: true, matchChannelMeans: false });
    sys.applyLora();
    const lq = randn([1, 1, 16, 16], { seed: 9, mean: 0.3, std: 0.05 });
    const out = noGrad(() => sys.restoreOneStep(lq, 'BGGR'));
    const ab = sys.schedule.alphaBar(300);
    // Site means of BGGR: B at (0,0), G at (0,1) and (1,0), R at (1,1).
    const host = await lq.data();
    const sums = [0, 0, 0], counts = [0, 0, 0];
    for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) {
      const c = [2, 1, 1, 0][(y & 1) * 2 + (x & 1)];
      sums[c] += host[y * 16 + x];
      counts[c]++;
    }
    const g = tensor(sums.map((s, c) => 0.2 / (s / counts[c])), [1, 3, 1, 1]);
    const image = noGrad(() =>
      tidy(() => {
        const gx = sparseRGB(lq, 'BGGR').mul(g);
        const z = sys.raw_encoder.forwardSparse(gx.div(gx.abs().add(e).sqrt().add(Math.sqrt(e))), 'BGGR').mul(0.7);
        const eps = sys.unet.forward(z, 300, sys.context.forward(1));
        const u = sys.vae.decode(z.sub(eps.mul(Math.sqrt(1 - ab))).div(Math.sqrt(ab)).mul(1 / 0.7));
        return u.mul(u.abs().add(2 * Math.sqrt(e))).div(g);
      }),
    );
    expect(maxRel(await out.image.data(), await image.data())).toBeLessThan(1e-3);
    for (const t of [lq, g, image, out.zL, out.zH, out.image]) t.dispose();
  });

  it('restoreRaw: one tile equals restoreOneStep, and scaling one colour of the mosaic scales only that output channel', async () => {
    manualSeed(2);
    const sys = new RddmSystem({ ...DEFAULT_RDDM_CONFIG, timestep: 250, exposurePerChannel: true });
    sys.applyLora();
    sys.eval();
    const [W, H] = [32, 24];
    const codes = Uint16Array.from({ length: W * H }, (_, i) => 200 + (((i * 2654435761) >>> 20) % 1500));
    const raw = syntheticRaw(W, H, codes, 'GRBG');
    const res = await restoreRaw(sys, raw, { tile: 32 });
    const m = tensor(Float32Array.from(codes, (c) => (c - 64) / (4095 - 64)), [1, 1, H, W]);
    const direct = noGrad(() => sys.restoreOneStep(m, 'GRBG').image);
    expect(maxRel(res.linear, await direct.data())).toBeLessThan(1e-3);
    // Red sites (row 0, odd columns in GRBG) doubled above black: the model sees the same input, R comes out doubled.
    const red = Uint16Array.from(codes, (c, i) => (Math.floor(i / W) % 2 === 0 && i % 2 === 1 ? 64 + 2 * (c - 64) : c));
    const res2 = await restoreRaw(sys, { ...raw, mosaic: red }, { tile: 32 });
    const n = W * H;
    const scaled = res.linear.slice();
    for (let i = 0; i < n; i++) scaled[i] *= 2;
    expect(maxRel(res2.linear, scaled)).toBeLessThan(1e-3);
    for (const t of [m, direct]) t.dispose();
  }, 60_000);
});
