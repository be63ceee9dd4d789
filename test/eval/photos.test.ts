import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encodePng } from '../../src/io/png.js';
import { decodePhoto, parsePhotoList } from '../../src/eval/photos.js';
import { loadPhotos } from '../../src/node/load-photos.js';
import { need } from '../helpers/requirements.js';

describe('photo list', () => {
  it('parses datasets/photos.json with disjoint splits', () => {
    const list = parsePhotoList(JSON.parse(readFileSync('datasets/photos.json', 'utf8')));
    expect(list.train.length).toBeGreaterThan(0);
    expect(list.eval.length).toBeGreaterThan(0);
    for (const e of [...list.train, ...list.eval]) expect(list.sources[e.package]).toBeDefined();
  });

  it('rejects malformed lists', () => {
    const entry = { package: 'p', file: 'a.png', license: 'x' };
    expect(() => parsePhotoList({ train: [], eval: [] })).toThrow(/sources/);
    expect(() => parsePhotoList({ sources: {}, train: [entry], eval: [entry] })).toThrow(/both train and eval/);
    expect(() => parsePhotoList({ sources: {}, train: [{ ...entry, file: '../x.png' }], eval: [] })).toThrow(/plain file name/);
  });

  it('checks an entry that is unpacked from another container', () => {
    const unpack = { file: 'face.dat', format: 'bzip2-rgb8', width: 4, height: 2 };
    const entry = { package: 'p', file: 'face.ppm', license: 'x', unpack };
    expect(parsePhotoList({ sources: {}, train: [entry], eval: [] }).train[0]!.unpack).toEqual(unpack);
    const bad = (u: unknown, file = 'face.ppm') => () => parsePhotoList({ sources: {}, train: [{ ...entry, file, unpack: u }], eval: [] });
    expect(bad({ ...unpack, format: 'gzip-rgb8' })).toThrow(/train\[0\]\.unpack.*"gzip-rgb8" is not known/);
    expect(bad({ ...unpack, width: 0 })).toThrow(/positive integer "width" and "height"/);
    expect(bad({ ...unpack, file: '../face.dat' })).toThrow(/plain file name/);
    expect(bad(unpack, 'face.png')).toThrow(/must end in \.ppm/);
    expect(bad(null)).toThrow(/needs "file"/);
  });
});

describe('decodePhoto', () => {
  it('decodes 8-bit RGB and 16-bit gray PNGs to HWC floats in [0, 1]', async () => {
    const rgb = Uint8Array.from({ length: 3 * 4 * 2 }, (_, i) => (i * 37) % 256);
    const img = await decodePhoto(await encodePng({ width: 4, height: 2, channels: 3, bitDepth: 8, data: rgb }), 'rgb.png');
    expect([img.width, img.height]).toEqual([4, 2]);
    img.data.forEach((v, i) => expect(v).toBeCloseTo(rgb[i] / 255, 6));
    const gray = Uint16Array.from([0, 65535, 32768]);
    const g = await decodePhoto(await encodePng({ width: 3, height: 1, channels: 1, bitDepth: 16, data: gray }), 'gray.png');
    expect(Array.from(g.data)).toEqual([0, 0, 0, 1, 1, 1, 32768 / 65535, 32768 / 65535, 32768 / 65535].map(Math.fround));
    await expect(decodePhoto(new Uint8Array([1, 2, 3, 4]), 'x.jpg')).rejects.toThrow(/not a PNG, JPEG, TIFF or binary PPM/);
  });

  it('decodes binary PPM (8- and 16-bit, as fetch-photos.sh writes SciPy\'s face) and PGM photos', async () => {
    const netpbm = (magic: string, w: number, h: number, maxval: number, samples: number[]) => {
      const head = new TextEncoder().encode(`${magic}\n# made by the test\n${w} ${h}\n${maxval}\n`);
      const wide = maxval > 255;
      const out = new Uint8Array(head.length + samples.length * (wide ? 2 : 1));
      out.set(head);
      samples.forEach((v, i) => (wide ? out.set([v >> 8, v & 0xff], head.length + 2 * i) : (out[head.length + i] = v)));
      return out;
    };
    const rgb = Array.from({ length: 3 * 3 * 2 }, (_, i) => (i * 53) % 256);
    const img = await decodePhoto(netpbm('P6', 3, 2, 255, rgb), 'x.ppm');
    expect([img.width, img.height]).toEqual([3, 2]);
    img.data.forEach((v, i) => expect(v).toBeCloseTo(rgb[i]! / 255, 6));
    // 16-bit samples are big-endian; maxval need not be 65535 (it scales the samples).
    const wide = [0, 1000, 4095, 300, 2048, 4095];
    const w16 = await decodePhoto(netpbm('P6', 2, 1, 4095, wide), 'x16.ppm');
    w16.data.forEach((v, i) => expect(v).toBeCloseTo(wide[i]! / 4095, 6));
    const g = await decodePhoto(netpbm('P5', 2, 1, 255, [0, 255]), 'g.pgm');
    expect(Array.from(g.data)).toEqual([0, 0, 0, 1, 1, 1]);
    await expect(decodePhoto(netpbm('P6', 4, 4, 255, rgb), 'short.ppm')).rejects.toThrow(/short\.ppm: .*truncated/);
  });

  it('loads the training photos, SciPy\'s face unpacked to PPM among them', async () => {
    need('data/photos/train/face.ppm');
    const photos = await loadPhotos('train');
    const face = photos.find((p) => p.name === 'face.ppm')!;
    expect([face.image.width, face.image.height]).toEqual([1024, 768]);
    for (const p of photos) {
      const n = p.image.width * p.image.height;
      const mean = [0, 1, 2].map((c) => p.image.data.filter((_, i) => i % 3 === c).reduce((s, v) => s + v, 0) / n);
      // A natural colour photo: exposed mid-range, and its channels differ (a gray or channel-swapped decode would not).
      expect(mean.every((m) => m > 0.1 && m < 0.9)).toBe(true);
      expect(Math.max(...mean) - Math.min(...mean)).toBeGreaterThan(0.01);
    }
  });

  it('loads the evaluation photos (PNG and LZW TIFF)', async () => {
    need('data/photos/eval/kodim02-lzw.tif');
    const photos = await loadPhotos('eval');
    expect(photos.map((p) => p.name)).toEqual(['astronaut.png', 'kodim02-lzw.tif', 'kodim07-lzw.tif']);
    for (const p of photos) {
      expect(p.image.data.length).toBe(p.image.width * p.image.height * 3);
      expect(Math.min(p.image.width, p.image.height)).toBeGreaterThanOrEqual(256);
      const mean = p.image.data.reduce((s, v) => s + v, 0) / p.image.data.length;
      expect(mean > 0.1 && mean < 0.9).toBe(true);
    }
  });

  it('tells how to fetch missing photos', async () => {
    await expect(loadPhotos('eval', { root: '/nonexistent' })).rejects.toThrow(/fetch-photos\.sh/);
  });
});
