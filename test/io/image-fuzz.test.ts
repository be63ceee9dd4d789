// Bounded fuzzing of the photo and mosaic readers: PNG (our encoder's 8/16-bit outputs, a palette file, the real
// libpng-written one), 8-bit TIFF (our uncompressed and predictor-2 files, the real LZW Kodak photos), PGM/PPM and
// JPEG (baseline with restarts and progressive files written by libjpeg-turbo's cjpeg, where it is installed).
// Every case decodes to an image of the declared size or throws FormatError naming the file, within the time and
// allocation bounds of test/helpers/fuzz.ts. FUZZ_CASES=N runs N cases per input.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../../src/io/bytes.js';
import { crc32, decodePng, encodePng, type PngImage } from '../../src/io/png.js';
import { decodeJpeg, type JpegImage } from '../../src/io/jpeg.js';
import { decodeNetpbm, decodePgm, encodePgm16, type GrayImage, type NetpbmImage } from '../../src/io/pgm.js';
import { encodeTiff } from '../../src/io/tiff-writer.js';
import { lzwMaxOutput, readTiffRgb8, type RgbTiffImage } from '../../src/raw/tiff-rgb-reader.js';
import { fuzzCount, fuzzRng, mutants, randomInputs, runFuzz, tiffEntryMutants, type FuzzTarget } from '../helpers/fuzz.js';
import { runTool, testDataPath } from '../helpers/test-raw.js';
import { need } from '../helpers/requirements.js';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function noise(n: number, max: number, seed: number): number[] {
  const rand = fuzzRng(seed);
  return Array.from({ length: n }, (_, i) => (i % 3 ? rand(max + 1) : Math.round((i / n) * max)));
}

/** A 5×4 palette PNG (colour type 3) made by hand, since our encoder writes none. */
async function palettePng(): Promise<Uint8Array> {
  const rows = new Uint8Array(4 * 6);
  for (let y = 0; y < 4; y++) for (let x = 0; x < 5; x++) rows[y * 6 + 1 + x] = (x + y) % 3;
  const idat = new Uint8Array(await new Response(new Blob([rows]).stream().pipeThrough(new CompressionStream('deflate'))).arrayBuffer());
  const chunk = (type: string, body: Uint8Array): Uint8Array => {
    const out = new Uint8Array(12 + body.length);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, body.length);
    out.set([...type].map((c) => c.charCodeAt(0)), 4);
    out.set(body, 8);
    dv.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
    return out;
  };
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, 5);
  new DataView(ihdr.buffer).setUint32(4, 4);
  ihdr.set([8, 3, 0, 0, 0], 8);
  const parts = [Uint8Array.from(PNG_SIGNATURE), chunk('IHDR', ihdr), chunk('PLTE', Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255])), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))];
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

/**
 * Mutants of a PNG with the chunk CRCs recomputed: a CRC mismatch would otherwise reject nearly every mutant at
 * the first check, and what needs fuzzing is what comes after it (IHDR values, inflate, filters, palettes).
 */
function fixCrcs(png: Uint8Array): Uint8Array {
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  for (let at = 8; at + 12 <= png.length; ) {
    const len = dv.getUint32(at);
    if (len > png.length - at - 12) break;
    dv.setUint32(at + 8 + len, crc32(png.subarray(at + 4, at + 8 + len)));
    at += 12 + len;
  }
  return png;
}

const pngTarget: FuzzTarget<PngImage> = {
  name: 'decodePng',
  parse: (bytes) => decodePng(bytes, 'fuzz.png'),
  errors: [FormatError],
  check: (img) => {
    expect(img.width * img.height * img.channels).toBe(img.data.length);
    expect(img.data).toBeInstanceOf(img.bitDepth === 8 ? Uint8Array : Uint16Array);
  },
  checkError: (e) => expect(e.message.startsWith('fuzz.png: ')).toBe(true),
  // Deflate expands at most 1032:1; the rows are held inflated and unfiltered.
  allocationBound: (n) => 2 * 1032 * n + (1 << 20),
};

const tiffTarget: FuzzTarget<RgbTiffImage> = {
  name: 'readTiffRgb8',
  parse: (bytes) => readTiffRgb8(bytes, 'fuzz.tif'),
  errors: [FormatError],
  check: (img) => expect(img.data.length).toBe(img.width * img.height * img.channels),
  checkError: (e) => expect(e.message.startsWith('fuzz.tif: ')).toBe(true),
  allocationBound: (n) => lzwMaxOutput(n) + (1 << 20),
};

const pgmTarget: FuzzTarget<GrayImage> = {
  name: 'decodePgm',
  parse: (bytes) => decodePgm(bytes, 'fuzz.pgm'),
  errors: [FormatError],
  check: (img) => expect(img.data.length).toBe(img.width * img.height),
  checkError: (e) => expect(e.message.startsWith('fuzz.pgm: ')).toBe(true),
  allocationBound: (n) => 4 * n + (1 << 16),
};

const ppmTarget: FuzzTarget<NetpbmImage> = {
  name: 'decodeNetpbm',
  parse: (bytes) => decodeNetpbm(bytes, 'fuzz.ppm'),
  errors: [FormatError],
  check: (img) => {
    expect(img.data.length).toBe(img.width * img.height * img.channels);
    for (const v of img.data) expect(v).toBeLessThanOrEqual(img.maxval > 255 ? 65535 : 255);
  },
  checkError: (e) => expect(e.message.startsWith('fuzz.ppm: ')).toBe(true),
  allocationBound: (n) => 4 * n + (1 << 16),
};

const jpegTarget: FuzzTarget<JpegImage> = {
  name: 'decodeJpeg',
  parse: (bytes) => decodeJpeg(bytes, 'fuzz.jpg'),
  errors: [FormatError],
  check: (img) => expect(img.data.length).toBe(img.width * img.height * img.channels),
  checkError: (e) => expect(e.message.startsWith('fuzz.jpg: ')).toBe(true),
  // A frame may claim at most 16 blocks per byte of file (each costs a bit of the first scan): its coefficients
  // (2 bytes each) and the RGB output stay within a few kB per input byte.
  allocationBound: (n) => 4096 * n + (1 << 20),
};

/**
 * An 8-bit chunky RGB TIFF of ours in `rowsPerStrip`-row strips, optionally with horizontal differencing; with
 * `lzw`, the same layout claims LZW compression over its (now random) strip bytes.
 */
function rgbTiff(w: number, h: number, rowsPerStrip: number, predictor: 1 | 2, lzw = false): Uint8Array {
  const px = Uint8Array.from(noise(w * h * 3, 255, 7));
  const data = Uint8Array.from(px);
  if (predictor === 2) for (let y = 0; y < h; y++) for (let i = w * 3 - 1; i >= 3; i--) data[y * w * 3 + i] = (px[y * w * 3 + i]! - px[y * w * 3 + i - 3]!) & 0xff;
  const strips = Math.ceil(h / rowsPerStrip);
  const offsets = Array.from({ length: strips }, (_, s) => 8 + s * rowsPerStrip * w * 3);
  const counts = Array.from({ length: strips }, (_, s) => Math.min(rowsPerStrip, h - s * rowsPerStrip) * w * 3);
  return encodeTiff(
    [
      { tag: 256, type: 'long', values: [w] },
      { tag: 257, type: 'long', values: [h] },
      { tag: 258, type: 'short', values: [8, 8, 8] },
      { tag: 259, type: 'short', values: [lzw ? 5 : 1] },
      { tag: 262, type: 'short', values: [2] },
      { tag: 273, type: 'long', values: offsets },
      { tag: 277, type: 'short', values: [3] },
      { tag: 278, type: 'long', values: [rowsPerStrip] },
      { tag: 279, type: 'long', values: counts },
      { tag: 317, type: 'short', values: [predictor] },
    ],
    data,
  );
}

describe('image reader fuzzing', () => {
  it('PNG: mutations of our 8/16-bit outputs and a palette file (CRCs fixed and not), and random bytes', async () => {
    const seeds: [string, Uint8Array][] = [
      ['rgb8', await encodePng({ width: 7, height: 5, channels: 3, bitDepth: 8, data: Uint8Array.from(noise(105, 255, 1)) })],
      ['gray16', await encodePng({ width: 9, height: 3, channels: 1, bitDepth: 16, data: Uint16Array.from(noise(27, 65535, 2)) })],
      ['rgba8', await encodePng({ width: 4, height: 6, channels: 4, bitDepth: 8, data: Uint8Array.from(noise(96, 255, 3)) })],
      ['palette', await palettePng()],
    ];
    const n = fuzzCount(150);
    for (const [k, [name, png]] of seeds.entries()) {
      const s = await runFuzz({ ...pngTarget, name: `decodePng ${name}` }, [
        { bytes: png, label: 'unmutated' },
        ...mutants(png, n, 20 + k, 8).map((m) => ({ ...m, bytes: fixCrcs(m.bytes), label: `${m.label}, CRCs fixed` })),
        ...mutants(png, Math.ceil(n / 3), 30 + k),
      ]);
      expect(s.ok).toBeGreaterThan(0);
    }
    await runFuzz(pngTarget, randomInputs(fuzzCount(200), 40, 400, [PNG_SIGNATURE]));
  });

  it('PNG: mutations of a real libpng-written file', async () => {
    const png = new Uint8Array(readFileSync(testDataPath('IMG_5952.png')));
    await runFuzz({ ...pngTarget, name: 'decodePng libpng' }, mutants(png, fuzzCount(60), 41, 8, 400).map((m) => ({ ...m, bytes: fixCrcs(m.bytes) })));
  });

  it('TIFF: mutations of our 8-bit RGB files (strips, predictor 2), and random bytes', async () => {
    const n = fuzzCount(200);
    for (const [k, tif] of [rgbTiff(11, 7, 3, 1), rgbTiff(6, 9, 4, 2), rgbTiff(8, 8, 8, 1, true)].entries()) {
      const ifd = new DataView(tif.buffer).getUint32(4, true);
      const s = await runFuzz({ ...tiffTarget, name: `readTiffRgb8 ours ${k}` }, [{ bytes: tif, label: 'unmutated' }, ...mutants(tif, n, 50 + k), ...mutants(tif, n, 60 + k, ifd), ...tiffEntryMutants(tif, n, 65 + k)]);
      expect(s.ok + s.rejected).toBe(s.cases);
    }
    await runFuzz(tiffTarget, randomInputs(fuzzCount(200), 70, 600, [[0x49, 0x49, 42, 0, 8, 0, 0, 0], [0x4d, 0x4d, 0, 42, 0, 0, 0, 8]]));
  });

  it('TIFF: mutations of a real LZW Kodak photo (IFD and first strips)', async () => {
    const tif = new Uint8Array(readFileSync(testDataPath('kodim07-lzw.tif')));
    const ifd = new DataView(tif.buffer).getUint32(4, true);
    const n = Math.ceil(fuzzCount(200) / 5);
    await runFuzz({ ...tiffTarget, name: 'readTiffRgb8 kodim07', caseLimitMs: 4000 }, [...mutants(tif, n, 80, ifd, Math.min(tif.length, ifd + 600)), ...mutants(tif, n, 81, 0, 2000), ...tiffEntryMutants(tif, n, 82)]);
  });

  it('PGM: mutations of our 16-bit output, and random bytes', async () => {
    const pgm = encodePgm16(6, 5, Uint16Array.from(noise(30, 65535, 9)));
    const s = await runFuzz(pgmTarget, [{ bytes: pgm, label: 'unmutated' }, ...mutants(pgm, fuzzCount(300), 90, 0, 20), ...mutants(pgm, fuzzCount(100), 91)]);
    expect(s.ok).toBeGreaterThan(0);
    const ascii = [...'P5\n'].map((c) => c.charCodeAt(0));
    await runFuzz(pgmTarget, randomInputs(fuzzCount(200), 92, 200, [ascii]));
  });

  it('JPEG: mutations of cjpeg\'s baseline (4:2:0, restarts) and progressive files, and random bytes', async () => {
    need('cjpeg');
    const dir = mkdtempSync(join(tmpdir(), 'rddm-jpeg-fuzz-'));
    try {
      const w = 40, h = 24;
      writeFileSync(join(dir, 'in.ppm'), Buffer.concat([Buffer.from(`P6\n${w} ${h}\n255\n`), Buffer.from(noise(w * h * 3, 255, 12).map((v, i) => (v >> 2) + ((i * 7) % 190)))]));
      const encode = (args: string[]): Uint8Array => {
        runTool('cjpeg', [...args, '-outfile', join(dir, 'out.jpg'), join(dir, 'in.ppm')]);
        return new Uint8Array(readFileSync(join(dir, 'out.jpg')));
      };
      const base = encode(['-sample', '2x2', '-restart', '1B', '-quality', '80']);
      const prog = encode(['-progressive', '-quality', '80']);
      const n = fuzzCount(300);
      const s = await runFuzz(jpegTarget, [
        { bytes: base, label: 'baseline unmutated' },
        { bytes: prog, label: 'progressive unmutated' },
        ...mutants(base, n, 96, 0, 700),
        ...mutants(base, Math.ceil(n / 3), 97),
        ...mutants(prog, n, 98),
      ]);
      expect(s.ok).toBeGreaterThan(0);
      await runFuzz(jpegTarget, randomInputs(fuzzCount(200), 99, 300, [[0xff, 0xd8, 0xff]]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('PPM: mutations of an 8-bit P6 photo header and samples, and random bytes', async () => {
    const head = new TextEncoder().encode('P6\n# a comment\n7 4\n255\n');
    const ppm = new Uint8Array(head.length + 7 * 4 * 3);
    ppm.set(head);
    ppm.set(Uint8Array.from(noise(7 * 4 * 3, 255, 11)), head.length);
    const s = await runFuzz(ppmTarget, [{ bytes: ppm, label: 'unmutated' }, ...mutants(ppm, fuzzCount(300), 93, 0, 24), ...mutants(ppm, fuzzCount(100), 94)]);
    expect(s.ok).toBeGreaterThan(0);
    const ascii = [...'P6\n'].map((c) => c.charCodeAt(0));
    await runFuzz(ppmTarget, randomInputs(fuzzCount(200), 95, 200, [ascii]));
  });
});
