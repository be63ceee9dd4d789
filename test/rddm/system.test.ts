import { beforeAll, describe, expect, it } from 'vitest';
import { init, randn, tensor, tidy, noGrad, manualSeed } from '../../src/index.js';
import { NoiseSchedule } from '../../src/rddm/schedule.js';
import { RddmSystem, DEFAULT_RDDM_CONFIG } from '../../src/rddm/system.js';
import { ddimSample } from '../../src/rddm/samplers.js';
import { tileStarts, binRaw, normalizeMosaic } from '../../src/rddm/restore.js';
import { saveRddm, loadRddm } from '../../src/rddm/weights.js';
import { memorySource, concatBytes } from '../../src/io/safetensors.js';
import type { RawImage } from '../../src/raw/raw-image.js';
import { rampImageAndMosaic } from '../helpers/rddm-fixtures.js';

beforeAll(async () => {
  await init();
});

describe('noise schedule', () => {
  it("is SD's scaled-linear schedule (betas 0.00085 → 0.012 linear in sqrt)", () => {
    const s = new NoiseSchedule();
    // Independent float64 computation of the published definition.
    let prod = 1;
    for (let t = 0; t < 1000; t++) {
      const b = (Math.sqrt(0.00085) + ((Math.sqrt(0.012) - Math.sqrt(0.00085)) * t) / 999) ** 2;
      prod *= 1 - b;
      expect(s.betas[t]).toBeCloseTo(b, 12);
    }
    expect(s.alphaBar(999)).toBeCloseTo(prod, 12);
    // SD 2.1's scheduler has alphas_cumprod[999] ≈ 0.00466.
    expect(s.alphaBar(999)).toBeGreaterThan(0.0046);
    expect(s.alphaBar(999)).toBeLessThan(0.0047);
    expect(s.timesteps(4, 999)).toEqual([999, 749, 500, 250]);
    expect(() => s.alphaBar(1000)).toThrow(/outside/);
  });
});

describe('RDDM system', () => {
  it('one-step restoration equals the formula (z_L - sqrt(1-ab) eps) / sqrt(ab), decoded', async () => {
    manualSeed(3);
    const e = 1e-3;
    // Colour matching has its own test below; here the decoded image is compared unscaled.
    const sys = new RddmSystem({ ...DEFAULT_RDDM_CONFIG, timestep: 400, latentScale: 0.8, compandEps: e, matchChannelMeans: false });
    sys.applyLora();
    const lq = randn([1, 1, 16, 16], { seed: 5, mean: 0.4, std: 0.1 });
    const out = noGrad(() => sys.restoreOneStep(lq, 'GBRG'));
    const ab = sys.schedule.alphaBar(400);
    // Exposure normalisation: the model sees g·x with g = target / mean(mosaic), and its output is divided by g.
    const host = await lq.data();
    const g = DEFAULT_RDDM_CONFIG.exposureTarget! / (host.reduce((a, v) => a + v, 0) / host.length);
    expect(g).toBeGreaterThan(0.3);
    expect(g).toBeLessThan(0.7);
    const [zL, manualZH, manualImage] = noGrad(() =>
      tidy(() => {
        // Companding: u = x / (sqrt(|x| + e) + sqrt(e)) into the RVAE, x = u (|u| + 2 sqrt(e)) out of it.
        const gx = lq.mul(g);
        const companded = gx.div(gx.abs().add(e).sqrt().add(Math.sqrt(e)));
        const z = sys.raw_encoder.forward(companded, 'GBRG').mul(0.8);
        const eps = sys.unet.forward(z, 400, sys.context.forward(1));
        const zH = z.sub(eps.mul(Math.sqrt(1 - ab))).div(Math.sqrt(ab));
        const u = sys.vae.decode(zH.mul(1 / 0.8));
        return [z, zH, u.mul(u.abs().add(2 * Math.sqrt(e))).div(g)];
      }),
    );
    const close = async (a: typeof zL, b: typeof zL) => {
      const [x, y] = [await a.data(), await b.data()];
      let worst = 0;
      for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]) / (1 + Math.abs(y[i])));
      return worst;
    };
    expect(out.image.shape).toEqual([1, 3, 16, 16]);
    expect(await close(out.zL, zL)).toBeLessThan(1e-5);
    expect(await close(out.zH, manualZH)).toBeLessThan(1e-4);
    expect(await close(out.image, manualImage)).toBeLessThan(1e-4);
  });

  it('companding is inverted exactly, keeps signs, and is off (the identity) for weights made without it', async () => {
    const x = tensor([-0.3, -1e-4, 0, 1e-5, 0.002, 0.05, 0.5, 1, 2.5]);
    const sys = new RddmSystem({ ...DEFAULT_RDDM_CONFIG, compandEps: 1e-3 });
    const u = sys.toModelDomain(x);
    const back = sys.fromModelDomain(u);
    const [xd, ud, bd] = [await x.data(), await u.data(), await back.data()];
    for (let i = 0; i < xd.length; i++) {
      expect(Math.sign(ud[i])).toBe(Math.sign(xd[i]));
      expect(Math.abs(bd[i] - xd[i])).toBeLessThan(1e-6 * (1 + Math.abs(xd[i])));
    }
    // Square-root-like: a 10x brighter value (0.05 -> 0.5) is only ~sqrt(10) = 3.2x larger in the model's domain.
    expect(ud[6] / ud[5]).toBeGreaterThan(2.5);
    expect(ud[6] / ud[5]).toBeLessThan(4.5);
    const off = new RddmSystem({ ...DEFAULT_RDDM_CONFIG, compandEps: 0 });
    expect(off.toModelDomain(x)).toBe(x);
    expect(off.fromModelDomain(x)).toBe(x);
    for (const t of [x, u, back]) t.dispose();
  });

  it('exposure normalisation: an image and its mosaic get the same gain, it is undone exactly, and decoding needs it', async () => {
    const sys = new RddmSystem({ ...DEFAULT_RDDM_CONFIG, exposureTarget: 0.2 });
    const [h, w] = [8, 8];
    const { img, mos } = rampImageAndMosaic(h, w);
    const lin = tensor(img, [1, 3, h, w]);
    const m = tensor(mos, [1, 1, h, w]);
    const [gl, gm] = [sys.exposureGain(lin)!, sys.exposureGain(m)!];
    // Level (R + 2G + B) / 4 of the image, plain mean of the mosaic: the same for this image, within the ramps' phase.
    let level = 0;
    for (let i = 0; i < h * w; i++) level += (img[i] + 2 * img[h * w + i] + img[2 * h * w + i]) / 4;
    level /= h * w;
    const [vl, vm] = [(await gl.data())[0], (await gm.data())[0]];
    expect(vl).toBeCloseTo(0.2 / level, 4);
    expect(Math.abs(vm - vl) / vl).toBeLessThan(0.02);
    const back = sys.fromModelDomain(sys.toModelDomain(lin, gl), gl);
    const bd = await back.data();
    for (let i = 0; i < img.length; i++) expect(Math.abs(bd[i] - img[i])).toBeLessThan(1e-6);
    // A black frame is not amplified without bound.
    const black = tensor(new Float32Array(16), [1, 1, 4, 4]);
    expect((await sys.exposureGain(black)!.data())[0]).toBe(256);
    const z = randn([1, sys.vae.config.latentChannels, 2, 2], { seed: 1 });
    expect(() => sys.decodeLatent(z, undefined)).toThrow(/exposure gain/);
    // Weights made before it: no gain.
    expect(new RddmSystem({ ...DEFAULT_RDDM_CONFIG, exposureTarget: undefined }).exposureGain(lin)).toBeNull();
    for (const t of [lin, m, gl, gm, back, black, z]) t.dispose();
  });

  it("colour matching gives each output channel the mean of the mosaic's sites of that colour, for every pattern", async () => {
    const sys = new RddmSystem({ ...DEFAULT_RDDM_CONFIG, matchChannelMeans: true });
    const [h, w] = [6, 8];
    const mos = Float32Array.from({ length: h * w }, (_, i) => 0.01 + 0.003 * ((i * 7919) % 13));
    const img = Float32Array.from({ length: 3 * h * w }, (_, i) => 0.02 + 0.001 * ((i * 104729) % 17));
    const m = tensor(mos, [1, 1, h, w]);
    const x = tensor(img, [1, 3, h, w]);
    for (const pattern of ['RGGB', 'BGGR', 'GRBG', 'GBRG'] as const) {
      // Host reference: the colour of site (y, x) from the pattern string, row-major over the 2x2 block.
      const sums = [0, 0, 0], counts = [0, 0, 0];
      for (let y = 0; y < h; y++)
        for (let xx = 0; xx < w; xx++) {
          const c = 'RGB'.indexOf(pattern[(y % 2) * 2 + (xx % 2)]);
          sums[c] += mos[y * w + xx];
          counts[c]++;
        }
      const out = await sys.matchColour(x, m, pattern).data();
      for (let c = 0; c < 3; c++) {
        let mean = 0;
        for (let i = 0; i < h * w; i++) mean += out[c * h * w + i];
        expect(mean / (h * w), `${pattern} channel ${c}`).toBeCloseTo(sums[c] / counts[c], 5);
        // A scale per channel: the structure within the channel is kept.
        expect(out[c * h * w + 5] / out[c * h * w + 3]).toBeCloseTo(img[c * h * w + 5] / img[c * h * w + 3], 4);
      }
    }
    // Off for weights made without it.
    expect(new RddmSystem({ ...DEFAULT_RDDM_CONFIG, matchChannelMeans: undefined }).matchColour(x, m, 'RGGB')).toBe(x);
    for (const t of [m, x]) t.dispose();
  });

  it('DDIM with a perfect noise predictor recovers the clean latent exactly', async () => {
    const s = new NoiseSchedule();
    const z0 = randn([1, 2, 4, 4], { seed: 9 });
    const eps = randn([1, 2, 4, 4], { seed: 10 });
    const t0 = 600;
    const zt = noGrad(() => z0.mul(Math.sqrt(s.alphaBar(t0))).add(eps.mul(Math.sqrt(1 - s.alphaBar(t0)))));
    // The true ε of a deterministic trajectory is constant along it.
    const out = noGrad(() => ddimSample(s, () => eps.clone(), zt, s.timesteps(5, t0)));
    const [a, b] = [await out.data(), await z0.data()];
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 4);
  });

  it('weights round-trip through save/load with sha256 checks, and a changed file is refused', async () => {
    manualSeed(4);
    const sys = new RddmSystem({ ...DEFAULT_RDDM_CONFIG });
    sys.applyLora();
    const files = new Map<string, Uint8Array>();
    const manifest = await saveRddm(sys, async (name, chunks) => void files.set(name, concatBytes(chunks)));
    expect(Object.keys(manifest.files).sort()).toEqual(['context.safetensors', 'raw_encoder.safetensors', 'raw_encoder_lora.safetensors', 'unet.safetensors', 'unet_lora.safetensors', 'vae.safetensors']);
    const open = async (name: string) => memorySource(files.get(name)!, name);
    const text = async (name: string) => new TextDecoder().decode(files.get(name)!);
    const { sys: loaded } = await loadRddm(open, text, 'mem');
    const a = await sys.unet.conv_in.namedParameters()[0][1].data();
    const b = await loaded.unet.conv_in.namedParameters()[0][1].data();
    expect(Array.from(b)).toEqual(Array.from(a));
    const bad = files.get('vae.safetensors')!.slice();
    bad[bad.length - 1] ^= 1;
    files.set('vae.safetensors', bad);
    await expect(loadRddm(open, text, 'mem')).rejects.toThrow(/vae\.safetensors: sha256 .* does not match the manifest/);
  });
});

describe('restore helpers', () => {
  it('tiles cover the image with aligned starts and the requested overlap', () => {
    for (const [n, tile, ov, al] of [[100, 32, 8, 8], [256, 256, 32, 8], [1000, 512, 64, 16], [37, 16, 4, 2]] as const) {
      const s = tileStarts(n - (n % al), tile, ov, al);
      expect(s[0]).toBe(0);
      for (const x of s) expect(x % al).toBe(0);
      expect(s[s.length - 1] + Math.min(tile, n - (n % al))).toBeGreaterThanOrEqual(n - (n % al));
    }
  });

  it('binning keeps the CFA pattern: each site averages same-colour sites', () => {
    const w = 8, h = 4;
    const mosaic = Uint16Array.from({ length: w * h }, (_, i) => 100 * ((Math.floor(i / w) & 1) * 2 + (i & 1)) + (i % 7));
    const raw = { width: w, height: h, mosaic, cfaPattern: 'GRBG', blackLevel: [0, 0, 0, 0], whiteLevel: 1000 } as unknown as RawImage;
    const b = binRaw(raw, 2);
    expect([b.width, b.height]).toEqual([4, 2]);
    for (let y = 0; y < 2; y++) for (let x = 0; x < 4; x++) expect(Math.floor(b.mosaic[y * 4 + x] / 100)).toBe((y & 1) * 2 + (x & 1));
    const n = normalizeMosaic({ ...raw, blackLevel: [10, 20, 30, 40] } as RawImage);
    expect(n[0]).toBeCloseTo((mosaic[0] - 10) / 990, 6);
    expect(n[w + 1]).toBeCloseTo((mosaic[w + 1] - 40) / 960, 6);
  });
});
