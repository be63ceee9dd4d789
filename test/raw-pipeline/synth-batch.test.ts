import { beforeAll, describe, expect, it } from 'vitest';
import { init, tensor, type Tensor } from '../../src/index.js';
import { iptp } from '../../src/raw/iptp.js';
import { mosaicNoise } from '../../src/raw/noise.js';
import { ptp } from '../../src/raw/ptp.js';
import { synthesizeBatch, SynthBatchGenerator, type SrgbImage } from '../../src/raw/synth-batch.js';
import { BAYER_PATTERNS } from '../../src/raw/bayer-pattern.js';
import { expectClose, randomArray } from './helpers.js';

beforeAll(async () => {
  await init();
});

/** Smooth test images (random colours with gradients) so PTP(IPTP) has few clipped pixels. */
function image(seed: number, height: number, width: number): SrgbImage {
  const [r, g, b] = randomArray(seed, 3, 0.15, 0.75);
  const data = new Float32Array(height * width * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const k = (y * width + x) * 3;
      data[k] = r + 0.1 * Math.sin(x / 3);
      data[k + 1] = g + 0.1 * Math.cos(y / 4);
      data[k + 2] = b + 0.002 * (x + y);
    }
  return { data, width, height };
}

const images = [image(1, 20, 24), image(2, 18, 30), image(3, 16, 16)];
const crop = [16, 16] as const;

function chw(img: SrgbImage): Tensor {
  const out = new Float32Array(img.data.length);
  for (let c = 0; c < 3; c++) for (let i = 0; i < img.width * img.height; i++) out[c * img.width * img.height + i] = img.data[i * 3 + c];
  return tensor(out, [3, img.height, img.width]);
}

describe('synthesizeBatch', () => {
  it('returns the documented shapes and metadata', () => {
    const b = synthesizeBatch(images, { cropSize: crop, seed: 5 });
    expect(b.lq.shape).toEqual([3, 1, 16, 16]);
    expect(b.hqLinear.shape).toEqual([3, 3, 16, 16]);
    expect(b.srgb.shape).toEqual([3, 3, 16, 16]);
    expect(b.wbGains.shape).toEqual([3, 3]);
    expect(b.cam2rgb.shape).toEqual([3, 3, 3]);
    expect(b.patterns.every((p) => BAYER_PATTERNS.includes(p))).toBe(true);
    expect(b.params).toHaveLength(3);
    expect(b.crops.map((c) => c.source)).toEqual([0, 1, 2]);
  });

  it('is reproducible from (seed, step); host and GPU sources give the same batch', async () => {
    const a = synthesizeBatch(images, { cropSize: crop, seed: 9, step: 4 });
    const b = synthesizeBatch(images.map(chw), { cropSize: crop, seed: 9, step: 4 });
    for (const k of ['lq', 'hqLinear', 'srgb'] as const) expectClose(await b[k].data(), await a[k].data(), 0, 0, k);
    expect(b.params).toEqual(a.params);
    const c = synthesizeBatch(images, { cropSize: crop, seed: 9, step: 5 });
    const [la, lc] = [await a.lq.data(), await c.lq.data()];
    expect(la.some((v, i) => v !== lc[i])).toBe(true);
  });

  it('crops and flips as reported; hqLinear = IPTP(srgb); lq = MNS(hqLinear) when degradation is off', async () => {
    const b = synthesizeBatch(images, { cropSize: crop, seed: 3, step: 1, degrade: { blurProb: 0, resizeProb: 0 } });
    const srgb = await b.srgb.data();
    b.crops.forEach((c, i) => {
      const img = images[i];
      for (let ch = 0; ch < 3; ch++) for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) {
        const sy = c.top + (c.flipV ? 15 - y : y);
        const sx = c.left + (c.flipH ? 15 - x : x);
        expect(srgb[((i * 3 + ch) * 16 + y) * 16 + x]).toBe(img.data[(sy * img.width + sx) * 3 + ch]);
      }
    });
    expectClose(await b.hqLinear.data(), await iptp(b.srgb, b.params).data(), 0, 0, 'iptp');
    const lq = mosaicNoise(b.hqLinear, {
      patterns: b.patterns,
      shotNoise: b.params.map((p) => p.shotNoise),
      readNoise: b.params.map((p) => p.readNoise),
      seed: 3,
      stream: 1,
    });
    expectClose(await b.lq.data(), await lq.data(), 0, 0, 'mns');
    // The returned PTP metadata takes the linear target back to the sRGB crop.
    const back = await ptp(b.hqLinear, { wbGains: b.wbGains, cam2rgb: b.cam2rgb }).data();
    expectClose(back, srgb, 2e-4, 0, 'ptp(hqLinear)');
  });

  it('permuteChannels: each crop is the same crop with its channels permuted as reported; host and GPU agree', async () => {
    const opts = { cropSize: crop, seed: 3, step: 1, degrade: { blurProb: 0, resizeProb: 0 } };
    const plain = synthesizeBatch(images, opts);
    expect(plain.crops.every((c) => c.channels.join() === '0,1,2')).toBe(true);
    const seen = new Set<string>();
    for (let step = 0; step < 6; step++) {
      const a = synthesizeBatch(images, { ...opts, step, permuteChannels: true });
      const b = synthesizeBatch(images, { ...opts, step });
      const gpu = synthesizeBatch(images.map(chw), { ...opts, step, permuteChannels: true });
      const [pa, pb] = [await a.srgb.data(), await b.srgb.data()];
      expectClose(await gpu.srgb.data(), pa, 0, 0, 'gpu');
      a.crops.forEach((c, i) => {
        // The same crop and flips as without the permutation: it is drawn after them.
        expect([c.top, c.left, c.flipH, c.flipV]).toEqual([b.crops[i].top, b.crops[i].left, b.crops[i].flipH, b.crops[i].flipV]);
        seen.add(c.channels.join());
        for (let ch = 0; ch < 3; ch++) {
          const n = 16 * 16;
          for (let k = 0; k < n; k++) expect(pa[(i * 3 + ch) * n + k]).toBe(pb[(i * 3 + c.channels[ch]) * n + k]);
        }
      });
    }
    expect(seen.size).toBeGreaterThan(3);
  });

  it('generator: epochs visit every image once, batches are reproducible', async () => {
    const many = [...images, image(4, 16, 20), image(5, 22, 16), image(6, 16, 18)];
    const gen = new SynthBatchGenerator(many, 2, { cropSize: crop, seed: 11 });
    const epoch = [gen.indicesAt(0), gen.indicesAt(1), gen.indicesAt(2)].flat();
    expect([...epoch].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    const first = gen.next();
    expect(first.crops.map((c) => c.source)).toEqual(gen.indicesAt(0));
    const again = new SynthBatchGenerator(many, 2, { cropSize: crop, seed: 11 }).next();
    expectClose(await again.lq.data(), await first.lq.data(), 0, 0, 'generator');
    expect(gen.step).toBe(1);
    expect(() => synthesizeBatch([image(7, 10, 10)], { cropSize: 16, seed: 1 })).toThrow(/smaller than the 16x16 crop/);
    expect(() => synthesizeBatch(images, { cropSize: 15, seed: 1 })).toThrow(/even/);
  });
});
