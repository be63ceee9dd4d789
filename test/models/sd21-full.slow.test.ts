/**
 * Stable Diffusion 2.1 at full size, with random weights built from SD 2.1's published diffusers configs
 * (test/models/diffusers/sd21): diffusers folder → `rddm import` → `rddm export` gives back the same bytes, and one
 * UNet forward at a 64×64 latent (a 512² image) plus a (tiled) VAE decode run. Slow and memory-hungry on a CPU
 * adapter (the weights alone are 3.8 GB), so it runs only with RDDM_SLOW=1:
 *
 *   npm run test:slow   (RDDM_SLOW=1 vitest run test/models/sd21-full.slow.test.ts)
 *
 * RDDM_SD21_DIR=DIR imports that folder instead (e.g. real SD 2.1 weights, or diffusers' own random ones), with the
 * same checks; when DIR/reference.safetensors exists (test/models/diffusers/gen/sd21_reference.py writes it with
 * diffusers' float64 UNet output), our full-size UNet is compared with it too. Timings and memory are printed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { getDevice, init, liveStats, manualSeed, randn, tensor, tidy, zeros } from '../../src/index.js';
import { openSafetensors } from '../../src/io/safetensors.js';
import { openFileSource } from '../../src/node/file-source.js';
import { AutoencoderKL, UNet2DConditionModel, estimateUNetActivations, tiledDecode } from '../../src/models/index.js';

import { unetConfigFromDiffusers, vaeConfigFromDiffusers } from '../../src/models/diffusers-config.js';
import { exportDiffusersModel } from '../../src/rddm/diffusers-export.js';
import { exportDiffusersDir, loadRddmDir } from '../../src/node/rddm-weights.js';
import { writeFileAtomic } from '../../src/node/atomic-write.js';

const sd21 = (name: string) => JSON.parse(readFileSync(new URL(`./diffusers/sd21/${name}-config.json`, import.meta.url), 'utf8'));
/**
 * Same keys, shapes and float32 bits in two model folders' weights (our writer's bytes equal our writer's; a folder
 * diffusers wrote, or an fp16 variant, is compared by value).
 */
async function sameTensors(a: string, b: string): Promise<boolean> {
  const open = async (d: string) => {
    const name = existsSync(join(d, 'diffusion_pytorch_model.safetensors')) ? 'diffusion_pytorch_model.safetensors' : 'diffusion_pytorch_model.fp16.safetensors';
    const src = await openFileSource(join(d, name));
    return { src, f: await openSafetensors(src) };
  };
  const [x, y] = [await open(a), await open(b)];
  try {
    const keys = x.f.keys().sort();
    if (JSON.stringify(keys) !== JSON.stringify(y.f.keys().sort())) return false;
    for (const k of keys) {
      if (JSON.stringify(x.f.info(k).shape) !== JSON.stringify(y.f.info(k).shape)) return false;
      const [u, v] = [await x.f.getFloat32(k), await y.f.getFloat32(k)];
      if (!Buffer.from(u.buffer, u.byteOffset, u.byteLength).equals(Buffer.from(v.buffer, v.byteOffset, v.byteLength))) return false;
    }
    return true;
  } finally {
    await x.src.close();
    await y.src.close();
  }
}
const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

describe('SD 2.1 at full size (npm run test:slow)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rddm-sd21-'));
  const plain = process.env.RDDM_SD21_DIR ?? join(dir, 'sd21');
  let peakRss = 0;
  const sample = () => (peakRss = Math.max(peakRss, process.memoryUsage().rss));
  const timer = setInterval(sample, 200);

  beforeAll(async () => {
    await init();
    manualSeed(21);
  });
  afterAll(() => {
    clearInterval(timer);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a diffusers SD 2.1 folder imports into sd21-unet + sd21-vae and exports back bit for bit', async () => {
    const write = async (path: string, chunks: Uint8Array[]) => {
      mkdirSync(dirname(join(plain, path)), { recursive: true });
      await writeFileAtomic(join(plain, path), chunks);
    };
    if (!process.env.RDDM_SD21_DIR) {
      // Random weights from the published configs, one model at a time (each is freed before the next).
      const unet = new UNet2DConditionModel(unetConfigFromDiffusers(sd21('unet')));
      await exportDiffusersModel(unet, 'unet', write);
      for (const p of unet.parameters()) p.dispose();
      const vae = new AutoencoderKL(vaeConfigFromDiffusers(sd21('vae')));
      await exportDiffusersModel(vae, 'vae', write);
      for (const p of vae.parameters()) p.dispose();
    }
    const t0 = performance.now();
    const { sys } = await loadRddmDir(plain);
    const loadS = (performance.now() - t0) / 1000;
    console.log(`SD 2.1 import ${loadS.toFixed(1)} s`);
    expect(sys.config).toMatchObject({ unet: 'sd21-unet', vae: 'sd21-vae', latentScale: 0.18215 });
    const t1 = performance.now();
    await exportDiffusersDir(sys, join(dir, 'back'));
    const exportS = (performance.now() - t1) / 1000;
    for (const m of ['unet', 'vae']) expect(await sameTensors(join(plain, m), join(dir, 'back', m)), m).toBe(true);
    sample();
    console.log(`SD 2.1 import ${loadS.toFixed(1)} s, export ${exportS.toFixed(1)} s; GPU buffers ${gib(liveStats.bytes)}, peak RSS ${gib(peakRss)}`);

    // One UNet forward at a 64×64 latent (512² image) with a 77-token context, then the VAE decode of a latent.
    const z = randn([1, 4, 64, 64], { seed: 3 });
    const ctx = zeros([1, 77, 1024]);
    const pool = getDevice().pool;
    const weightsBytes = getDevice().memoryStats().liveBytes;
    pool.resetPeak();
    const t2 = performance.now();
    const eps = tidy(() => sys.unet.forward(z, 999, ctx));
    const e = await eps.data();
    const unetS = (performance.now() - t2) / 1000;
    const unetPeak = getDevice().memoryStats().peakLiveBytes - weightsBytes;
    const estimate = estimateUNetActivations(sys.unet.config, 64, 64, 1).inferencePeakBytes;
    sample();
    expect(eps.shape).toEqual([1, 4, 64, 64]);
    expect(e.every(Number.isFinite)).toBe(true);
    const t3 = performance.now();
    // The decoder's 256-channel convs at 512² are 256 MiB, over the 128 MiB binding limit: tiledDecode (exact) splits them.
    const img = tiledDecode(sys.vae, z.mul(1 / 0.18215));
    const d = await img.data();
    const vaeS = (performance.now() - t3) / 1000;
    const vaePeak = getDevice().memoryStats().peakLiveBytes - weightsBytes;
    sample();
    expect(img.shape).toEqual([1, 3, 512, 512]);
    expect(d.every(Number.isFinite)).toBe(true);
    console.log(`SD 2.1 UNet forward 64×64 latent: ${unetS.toFixed(1)} s, activations peak ${mib(unetPeak)} (estimate ${mib(estimate)}); VAE decode to 512² (tiled): ${vaeS.toFixed(1)} s, peak above the weights ${mib(vaePeak)}; GPU buffers ${gib(liveStats.bytes)}, peak RSS ${gib(peakRss)}`);
    for (const t of [z, ctx, eps, img]) t.dispose();

    const refPath = join(plain, 'reference.safetensors');
    if (existsSync(refPath)) {
      const src = await openFileSource(refPath);
      const f = await openSafetensors(src);
      const get = async (k: string) => {
        const b = await f.getBytes(k);
        return new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
      };
      const [rz, rc, rt, rout] = [await get('latent'), await get('context'), await get('timesteps'), await get('out')];
      const y = tidy(() => sys.unet.forward(tensor(Float32Array.from(rz), [1, 4, 64, 64]), rt[0], tensor(Float32Array.from(rc), [1, 77, 1024])));
      const ours = await y.data();
      let d = 0, m = 0;
      for (let i = 0; i < rout.length; i++) {
        d = Math.max(d, Math.abs(ours[i] - rout[i]));
        m = Math.max(m, Math.abs(rout[i]));
      }
      console.log(`SD 2.1 UNet at 64×64 against diffusers' float64: max|ours − diffusers| / max|diffusers| = ${(d / m).toExponential(2)}`);
      expect(d / m).toBeLessThan(1e-5);
      y.dispose();
      await src.close();
    }
  }, 3_600_000);
});
