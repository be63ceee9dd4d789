import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encodePng } from '../../src/io/png.js';
import { decodePhoto, parsePhotoList, photoScene, PHOTO_SPLITS } from '../../src/eval/photos.js';
import { loadPhotos } from '../../src/node/load-photos.js';
import { need } from '../helpers/requirements.js';

const base = { package: 'p', path: 'usr/share/p/a.png', file: 'a.png', license: 'x' };
const list = (over: Record<string, unknown>) => ({ packagesReviewed: { p: 'taken: test' }, train: [], validation: [], test: [], ...over });

describe('photo list', () => {
  const real = parsePhotoList(JSON.parse(readFileSync('datasets/photos.json', 'utf8')));
  const all = [...real.train, ...real.validation, ...real.test];

  it('parses datasets/photos.json: three splits, at least 40 scenes, at least 8 test photos', () => {
    expect(real.train.length).toBeGreaterThan(0);
    expect(real.validation.length).toBeGreaterThanOrEqual(4);
    expect(real.test.length).toBeGreaterThanOrEqual(8);
    expect(new Set(all.map(photoScene)).size).toBeGreaterThanOrEqual(40);
    for (const e of all) expect(real.packagesReviewed[e.package]).toMatch(/^taken/);
  });

  it('keeps the photos the shipped weights were tuned on out of test, and the old training photos in train', () => {
    const names = (es: readonly { file: string }[]) => es.map((e) => e.file);
    for (const f of ['astronaut.png', 'kodim02-lzw.tif', 'kodim07-lzw.tif']) expect(names(real.test)).not.toContain(f);
    for (const f of ['coffee.png', 'chelsea.png', 'motorcycle_left.png', 'motorcycle_right.png', 'face.ppm']) expect(names(real.train)).toContain(f);
    // Game data stays out, whatever its licence.
    expect(real.packagesReviewed['renpy-demo']).toMatch(/^left/);
    expect(all.map((e) => e.package)).not.toContain('renpy-demo');
  });

  it('rejects malformed lists', () => {
    expect(() => parsePhotoList({ train: [], validation: [], test: [] })).toThrow(/packagesReviewed/);
    expect(() => parsePhotoList(list({ eval: [] }))).toThrow(/"eval" split is now "validation".*"test"/);
    expect(() => parsePhotoList(list({ validation: undefined }))).toThrow(/validation is not a list/);
    expect(() => parsePhotoList(list({ train: [{ ...base, file: '../x.png' }] }))).toThrow(/plain file name/);
    expect(() => parsePhotoList(list({ train: [{ ...base, path: '/usr/a.png' }] }))).toThrow(/relative path inside the package/);
    expect(() => parsePhotoList(list({ train: [{ ...base, path: 'usr/../../a.png' }] }))).toThrow(/relative path inside the package/);
    expect(() => parsePhotoList(list({ train: [{ ...base, package: 'q' }] }))).toThrow(/train\[0\].*"q" is not in packagesReviewed/);
    expect(() => parsePhotoList(list({ test: [{ ...base, license: undefined }] }))).toThrow(/test\[0\].*needs "package", "path", "file" and "license"/);
  });

  it('rejects a file or a scene in two splits', () => {
    expect(() => parsePhotoList(list({ train: [base], test: [base] }))).toThrow(/test\[0\].*"a\.png" is listed twice \(also in train\)/);
    expect(() => parsePhotoList(list({ train: [base, base] }))).toThrow(/train\[1\].*listed twice/);
    // A stereo pair: two files, one scene, which must stay on one side.
    const left = { ...base, file: 'l.png', scene: 'moto' }, right = { ...base, file: 'r.png', scene: 'moto' };
    expect(parsePhotoList(list({ train: [left, right] })).train).toHaveLength(2);
    expect(() => parsePhotoList(list({ train: [left], validation: [right] }))).toThrow(/validation\[0\].*scene "moto" is in both train and validation/);
    // Without "scene", the scene is the file name less its extension: a.png and a.jpg are one scene.
    expect(() => parsePhotoList(list({ validation: [base], test: [{ ...base, file: 'a.jpg' }] }))).toThrow(/scene "a" is in both validation and test/);
    expect(() => parsePhotoList(list({ train: [{ ...base, scene: '' }] }))).toThrow(/"scene" must be a non-empty string/);
  });

  it('checks the downscale factor', () => {
    expect(parsePhotoList(list({ train: [{ ...base, downscale: 3 }] })).train[0]!.downscale).toBe(3);
    for (const d of [1, 0, -2, 2.5, '3', 17]) {
      expect(() => parsePhotoList(list({ train: [{ ...base, downscale: d }] }))).toThrow(/train\[0\]\.downscale must be an integer from 2 to 16/);
    }
    expect(() => parsePhotoList(list({ train: [{ ...base, file: 'a.jpg', downscale: 2 }] }))).toThrow(/stored as a PNG.*must end in \.png/);
  });

  it('checks an entry that is unpacked from another container', () => {
    const unpack = { format: 'bzip2-rgb8', width: 4, height: 2 };
    const entry = { ...base, path: 'usr/lib/face.dat', file: 'face.ppm', unpack };
    expect(parsePhotoList(list({ train: [entry] })).train[0]!.unpack).toEqual(unpack);
    const bad = (u: unknown, file = 'face.ppm') => () => parsePhotoList(list({ train: [{ ...entry, file, unpack: u }] }));
    expect(bad({ ...unpack, format: 'gzip-rgb8' })).toThrow(/train\[0\]\.unpack.*"gzip-rgb8" is not known/);
    expect(bad({ ...unpack, width: 0 })).toThrow(/positive integer "width" and "height"/);
    expect(bad(unpack, 'face.png')).toThrow(/must end in \.ppm/);
    expect(bad(null)).toThrow(/needs "format"/);
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
    // The five photos training started with; every photo of every split is checked below.
    for (const p of photos.filter((q) => ['coffee.png', 'chelsea.png', 'motorcycle_left.png', 'motorcycle_right.png', 'face.ppm'].includes(q.name))) {
      const n = p.image.width * p.image.height;
      const mean = [0, 1, 2].map((c) => p.image.data.filter((_, i) => i % 3 === c).reduce((s, v) => s + v, 0) / n);
      // A natural colour photo: exposed mid-range, and its channels differ (a gray or channel-swapped decode would not).
      expect(mean.every((m) => m > 0.1 && m < 0.9)).toBe(true);
      expect(Math.max(...mean) - Math.min(...mean)).toBeGreaterThan(0.01);
    }
  });

  it('loads every listed photo of every split: colour, at least 300 px a side, downscaled ones at most 1024 px', async () => {
    need('data/photos/test/jxl-flower.png');
    const entries = parsePhotoList(JSON.parse(readFileSync('datasets/photos.json', 'utf8')));
    for (const split of PHOTO_SPLITS) {
      const photos = await loadPhotos(split);
      expect(photos.map((p) => p.name)).toEqual(entries[split].map((e) => e.file));
      photos.forEach((p, i) => {
        const { width, height, data } = p.image;
        expect(data.length).toBe(width * height * 3);
        expect(Math.min(width, height), p.name).toBeGreaterThanOrEqual(300);
        if (entries[split][i]!.downscale) expect(Math.max(width, height), p.name).toBeLessThanOrEqual(1024);
        let mean = 0, chroma = 0;
        for (let k = 0; k < width * height; k++) {
          mean += data[3 * k]! + data[3 * k + 1]! + data[3 * k + 2]!;
          chroma += Math.abs(data[3 * k]! - data[3 * k + 1]!) + Math.abs(data[3 * k + 2]! - data[3 * k + 1]!);
        }
        // Not black, not blown out, and not grey (the synthesis needs colour).
        expect(mean / data.length, p.name).toBeGreaterThan(0.04);
        expect(mean / data.length, p.name).toBeLessThan(0.9);
        expect(chroma / (width * height), p.name).toBeGreaterThan(0.01);
      });
    }
  }, 120_000);

  it('tells how to fetch missing photos', async () => {
    await expect(loadPhotos('test', { root: '/nonexistent' })).rejects.toThrow(/fetch-photos\.sh/);
  });
});
