import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encodePng } from '../../src/io/png.js';
import { decodePhoto, parsePhotoList } from '../../src/eval/photos.js';
import { loadPhotos } from '../../src/node/load-photos.js';

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
    await expect(decodePhoto(new Uint8Array([1, 2, 3, 4]), 'x.jpg')).rejects.toThrow(/neither a PNG nor a TIFF/);
  });

  it.skipIf(!existsSync('data/photos/eval/kodim02-lzw.tif'))('loads the evaluation photos (PNG and LZW TIFF)', async () => {
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
