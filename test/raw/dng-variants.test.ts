// DNG variants real encoders write, built by test/helpers/dng-builder.ts: each must decode to the plane it was
// built from, and where dcraw reads the variant, dcraw -D -4 must give the same mosaic. Where dcraw (9.28) and
// Debian's LibRaw 0.20 read nothing (Deflate, floating point, uncompressed tiles) the built plane, or a float64
// reference of LibRaw's float-to-integer rule, is the reference.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeNetpbm, decodePgm } from '../../src/io/pgm.js';
import { decode } from '../../src/cli/commands/decode.js';
import { RawFormatError, RawUnsupportedError } from '../../src/raw/errors.js';
import { cropPlane } from '../../src/raw/raw-image.js';
import { readRaw } from '../../src/raw/read-raw.js';
import { buildDng, floatBytes, type Layout } from '../helpers/dng-builder.js';
import { encodeLosslessJpeg } from '../helpers/ljpeg-encoder.js';
import { decodeLosslessJpeg } from '../../src/raw/ljpeg.js';
import { firstMismatch, runTool, syntheticMosaic, testRawPath } from '../helpers/test-raw.js';
import { need } from '../helpers/requirements.js';

const dir = mkdtempSync(join(tmpdir(), 'rddm-dngv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const w = 70;
const h = 50;

/** A mosaic with a band of 0/max checks: predictors 4–7 then reach 17-bit differences on 16-bit data. */
function extremes(bits: number, seed = 5): Uint16Array {
  const m = syntheticMosaic(w, h, bits, seed);
  const max = (1 << bits) - 1;
  for (let y = 10; y < 20; y++) for (let x = 0; x < w; x++) m[y * w + x] = ((x >> 1) + (y >> 1)) & 1 ? max : 0;
  // Jumps of exactly 32768 (category 16) on row 30.
  for (let x = 0; x < w; x++) m[30 * w + x] = x & 1 ? 0 : 32768;
  return m;
}

interface Variant {
  name: string;
  lay: Layout;
  plane: Uint16Array;
  /** dcraw 9.28 reads this variant (we then require the same mosaic). */
  dcraw: boolean;
}

const int = (bits: number, seed = 3): Uint16Array => syntheticMosaic(w, h, bits, seed);
const variants: Variant[] = [
  { name: 'lossless JPEG, categories 0..17 listed, category 17 used (predictor 4, 16-bit)', lay: { tile: [32, 24], compression: 7, bits: 16, ljpeg: { predictor: 4, wide: true } }, plane: extremes(16), dcraw: true },
  { name: 'lossless JPEG, categories 0..17 listed, 2-component 14-bit tiles', lay: { tile: [32, 24], compression: 7, bits: 14, components: 2, ljpeg: { wide: true } }, plane: int(14), dcraw: true },
  { name: 'lossless JPEG, predictor 7', lay: { tile: [32, 24], compression: 7, bits: 12, ljpeg: { predictor: 7 } }, plane: int(12), dcraw: true },
  { name: 'lossless JPEG, predictor 5, 2 components', lay: { tile: [32, 24], compression: 7, bits: 12, components: 2, ljpeg: { predictor: 5 } }, plane: int(12), dcraw: true },
  { name: 'lossless JPEG, restart every 4 rows (predictor 1)', lay: { tile: [32, 24], compression: 7, bits: 12, ljpeg: { restartRows: 4 } }, plane: int(12), dcraw: true },
  // dcraw keeps predictor 6 on the row after a restart; T.81 and Adobe's SDK predict it from the left, as we do.
  { name: 'lossless JPEG, restart every 4 rows, predictor 6 (T.81; dcraw differs)', lay: { tile: [32, 24], compression: 7, bits: 12, ljpeg: { predictor: 6, restartRows: 4 } }, plane: int(12), dcraw: false },
  { name: 'lossless JPEG, DNG 1.0 category 16 with 16 bits', lay: { tile: [32, 24], compression: 7, bits: 16, dngVersion: [1, 0, 0, 0], ljpeg: { category16Bits: true } }, plane: extremes(16), dcraw: true },
  { name: 'lossless JPEG, DNG 1.4 category 16 without bits', lay: { tile: [32, 24], compression: 7, bits: 16 }, plane: extremes(16), dcraw: true },
  { name: 'lossless JPEG, 10-bit with a linearization table', lay: { tile: [32, 24], compression: 7, bits: 10, linearization: Array.from({ length: 1000 }, (_, i) => Math.round((i * i) / 300)) }, plane: int(10), dcraw: true },
  { name: 'big-endian, uncompressed 16-bit', lay: { compression: 1, bits: 16, bigEndian: true }, plane: int(16), dcraw: true },
  { name: 'big-endian, packed 12-bit strips', lay: { rowsPerStrip: 7, compression: 1, bits: 12, bigEndian: true }, plane: int(12), dcraw: true },
  { name: 'big-endian, lossless JPEG tiles', lay: { tile: [32, 24], compression: 7, bits: 12, bigEndian: true }, plane: int(12), dcraw: true },
  { name: 'big-endian, uncompressed 16-bit tiles (dcraw reads no uncompressed tiles)', lay: { tile: [16, 16], compression: 1, bits: 16, bigEndian: true }, plane: int(16), dcraw: false },
  { name: 'Deflate, 16-bit, predictor 2', lay: { tile: [32, 24], compression: 8, bits: 16, predictor: 2 }, plane: int(16), dcraw: false },
  { name: 'Deflate, 16-bit, predictor 34892 (x2)', lay: { tile: [32, 24], compression: 8, bits: 16, predictor: 34892 }, plane: int(16), dcraw: false },
  { name: 'Deflate, 16-bit, predictor 34893 (x4), big-endian', lay: { tile: [32, 24], compression: 8, bits: 16, predictor: 34893, bigEndian: true }, plane: int(16), dcraw: false },
  { name: 'Deflate, 8-bit strips, predictor 2', lay: { rowsPerStrip: 16, compression: 8, bits: 8, predictor: 2 }, plane: int(8), dcraw: false },
  { name: 'Deflate, 12-bit data in 16-bit samples, no predictor', lay: { tile: [32, 24], compression: 8, bits: 16 }, plane: int(12), dcraw: false },
  {
    name: 'BlackLevelRepeatDim 2x2, BlackLevelDeltaH/V, ActiveArea',
    lay: { compression: 1, bits: 16, activeArea: [2, 4, 48, 66], black: { dim: [2, 2], values: [60, 61, 62, 63] }, blackDelta: { h: Array.from({ length: 62 }, (_, i) => (i & 1) * 2), v: Array.from({ length: 46 }, () => 1.5) } },
    plane: int(12),
    dcraw: true,
  },
  { name: 'DefaultCrop and a GainMap opcode', lay: { compression: 1, bits: 16, activeArea: [2, 4, 48, 66], defaultCrop: [3, 5, 50, 30], gainMap: true }, plane: int(12), dcraw: true },
];

/** What a reader must return for a variant: the active area of the plane, through the linearization table. */
function expected(v: Variant): Uint16Array {
  const [top, left, bottom, right] = v.lay.activeArea ?? [0, 0, h, w];
  const m = cropPlane(v.plane, w, left, top, right - left, bottom - top);
  const lin = v.lay.linearization;
  return lin ? m.map((x) => lin[Math.min(x, lin.length - 1)]!) : m;
}

describe('DNG variants', () => {
  it.each(variants.map((v) => [v.name, v] as const))('%s', (_name, v) => {
    const dng = buildDng(v.plane, w, h, v.lay);
    const raw = readRaw(dng, 'v.dng');
    expect(firstMismatch(raw.mosaic, expected(v))).toBe(-1);
    expect(raw.cfaPattern).toBe('GRBG');
    if (v.dcraw) {
      need('dcraw');
      const file = join(dir, 'v.dng');
      writeFileSync(file, dng);
      const pgm = decodePgm(new Uint8Array(runTool('dcraw', ['-D', '-4', '-c', file])));
      expect([pgm.width, pgm.height]).toEqual([raw.width, raw.height]);
      expect(firstMismatch(pgm.data, raw.mosaic)).toBe(-1);
    }
  });

  it('black levels: the repeat pattern plus the mean of each delta over its CFA phase', () => {
    const v = variants.find((x) => x.lay.blackDelta)!;
    const raw = readRaw(buildDng(v.plane, w, h, v.lay), 'b.dng');
    // BlackLevel [60 61; 62 63] (GRBG positions), DeltaV 1.5 everywhere, DeltaH 0 on even and 2 on odd columns.
    expect(raw.blackLevel).toEqual([61.5, 64.5, 63.5, 66.5]);
    expect(raw.warnings).toEqual(['BlackLevelDeltaH varies by 2 along the sensor; our black level is its mean per CFA phase']);
  });

  it('DefaultCrop is reported, the GainMap named in a warning, and the mosaic left as dcraw -D leaves it', () => {
    const v = variants.find((x) => x.lay.gainMap)!;
    const raw = readRaw(buildDng(v.plane, w, h, v.lay), 'g.dng');
    expect(raw.defaultCrop).toEqual({ left: 3, top: 5, width: 50, height: 30 });
    expect(raw.warnings).toEqual(['OpcodeList2: GainMap not applied, as dcraw -D does not (lens-shading gain maps: corners stay as the sensor recorded them)']);
    const bad = readRaw(buildDng(v.plane, w, h, { ...v.lay, defaultCrop: [40, 5, 50, 30] }), 'g.dng');
    expect(bad.defaultCrop).toBeUndefined();
    expect(bad.warnings[1]).toMatch(/^DefaultCrop origin \(40, 5\) size 50x30 does not fit the 62x46 active area: ignored$/);
  });

  it('an ActiveArea past the image is clamped with a warning, not refused', () => {
    const raw = readRaw(buildDng(int(12), w, h, { compression: 1, bits: 16, activeArea: [2, 4, 60, 66] }), 'a.dng');
    expect([raw.width, raw.height]).toEqual([62, 48]);
    expect(raw.warnings).toEqual(['ActiveArea [2, 4, 60, 66] does not fit the 70x50 image: using [2, 4, 50, 66]']);
  });
});

describe('floating-point DNG', () => {
  // Values in [0, 1): LibRaw's convertFloatToInt scales max(white = 1, data max) to 16383 and truncates.
  const plane = Float32Array.from(syntheticMosaic(w, h, 12, 9), (v) => v / 4096);
  /** Float64 reference of that rule, from the values the file holds (16- and 24-bit floats lose low bits). */
  function reference(bytes: number): Uint16Array {
    const stored = Array.from(plane, (v) => {
      const b = floatBytes(v, bytes);
      const dv = new DataView(new ArrayBuffer(4));
      if (bytes === 4) return v;
      if (bytes === 2) {
        dv.setUint16(0, (b[0]! << 8) | b[1]!);
        const hb = dv.getUint16(0);
        const e = (hb >> 10) & 31;
        const m = hb & 1023;
        return e === 0 ? m * 2 ** -24 : (1 + m / 1024) * 2 ** (e - 15);
      }
      const e = b[0]! & 127;
      const m = (b[1]! << 8) | b[2]!;
      return b[0] === 0 && m === 0 ? 0 : (1 + m / 65536) * 2 ** (e - 63);
    });
    const max = Math.max(1, ...stored);
    const scale = Math.fround(16383 / max);
    return Uint16Array.from(stored, (v) => Math.trunc(Math.fround(v * scale)));
  }
  const cases: [string, Layout][] = [
    ['Deflate, 32-bit, predictor 3', { tile: [32, 24], compression: 8, bits: 32, float: true, predictor: 3 }],
    ['Deflate, 16-bit, predictor 34894 (x2)', { tile: [32, 24], compression: 8, bits: 16, float: true, predictor: 34894 }],
    ['Deflate, 24-bit, predictor 34895 (x4), big-endian', { tile: [32, 24], compression: 8, bits: 24, float: true, predictor: 34895, bigEndian: true }],
    ['Deflate, 32-bit strips, no predictor', { rowsPerStrip: 13, compression: 8, bits: 32, float: true }],
    ['uncompressed 32-bit', { compression: 1, bits: 32, float: true }],
    ['uncompressed 16-bit, big-endian', { compression: 1, bits: 16, float: true, bigEndian: true }],
    ['uncompressed 24-bit tiles', { tile: [16, 16], compression: 1, bits: 24, float: true }],
  ];
  it.each(cases)('%s', (_name, lay) => {
    const raw = readRaw(buildDng(plane, w, h, { ...lay, black: { dim: [1, 1], values: [0.015625] } }), 'f.dng');
    expect(firstMismatch(raw.mosaic, reference(lay.bits / 8))).toBe(-1);
    expect(raw.whiteLevel).toBeCloseTo(16383, 1);
    expect(raw.blackLevel[0]).toBeCloseTo(0.015625 * 16383, 1);
    expect(raw.bitDepth).toBe(lay.bits);
  });
});

describe('lossless JPEG liberties', () => {
  const m = syntheticMosaic(20, 6, 12, 2);
  it('reads a table that lists categories above 16 and refuses only a code wider than any decoder reads', () => {
    const jpeg = encodeLosslessJpeg(m, 20, 6, 1, { precision: 12, wide: true });
    expect(firstMismatch(decodeLosslessJpeg(jpeg, 'x', 'tile').data, m)).toBe(-1);
    // Relabel the table's last symbol (17) as 26: a scan using it is refused, naming the category.
    const dht = jpeg.findIndex((b, i) => b === 0xff && jpeg[i + 1] === 0xc4);
    const values = dht + 4 + 1 + 16;
    const bad = jpeg.slice();
    for (let i = 0; i < 18; i++) bad[values + i] = 26; // every category now reads as 26
    expect(() => decodeLosslessJpeg(bad, 'x.dng', 'tile')).toThrow(/^x\.dng: tile: difference category 26 in row 0 is wider than the 25 bits any decoder reads$/);
  });

  it('reads a scan that names an undefined table, and predictor 0 as dcraw does', () => {
    const jpeg = encodeLosslessJpeg(m, 10, 6, 2, { precision: 12 });
    const sos = jpeg.findIndex((b, i) => b === 0xff && jpeg[i + 1] === 0xda);
    const patched = jpeg.slice();
    patched[sos + 4 + 1 + 2 * 1 + 1] = 0x30; // component 1 selects table 3, never defined: falls back to table 1
    expect(firstMismatch(decodeLosslessJpeg(patched, 'x', 'tile').data, m)).toBe(-1);
  });

  it('refuses truncated and corrupt tiles with a RawFormatError naming the tile', () => {
    const dng = buildDng(int(12), w, h, { tile: [32, 24], compression: 8, bits: 16, predictor: 2 });
    const cut = dng.slice();
    cut[8 + 10] ^= 0xff; // inside tile 0's Deflate stream
    expect(() => readRaw(cut, 'c.dng')).toThrow(RawFormatError);
    expect(() => readRaw(cut, 'c.dng')).toThrow(/^c\.dng: IFD 0: tile 0 \(Deflate\): /);
  });

  it('hands Canon sRAW-style subsampled frames and DCT frames on as unsupported (openRaw then tries LibRaw)', () => {
    const jpeg = encodeLosslessJpeg(m, 10, 6, 2, { precision: 12 });
    const sof = jpeg.findIndex((b, i) => b === 0xff && jpeg[i + 1] === 0xc3);
    const sraw = jpeg.slice();
    sraw[sof + 4 + 6 + 1] = 0x21; // component 0 sampled 2x1
    expect(() => decodeLosslessJpeg(sraw, 'x.cr2', 'raw data')).toThrow(RawUnsupportedError);
    const dct = jpeg.slice();
    dct[sof + 1] = 0xc1;
    expect(() => decodeLosslessJpeg(dct, 'x.dng', 'tile')).toThrow(/^x\.dng: tile: uses JPEG process SOF1; only lossless SOF3 is supported$/);
  });

  it('hands non-Bayer DNGs on as unsupported (openRaw then tries LibRaw)', () => {
    expect(() => readRaw(buildDng(syntheticMosaic(72, h, 12), 72, h, { compression: 1, bits: 16, sensor: 'x-trans' }), 'x.dng')).toThrow(RawUnsupportedError);
    expect(() => readRaw(buildDng(int(12), w, h, { compression: 1, bits: 16, sensor: 'monochrome' }), 'm.dng')).toThrow(RawUnsupportedError);
  });
});

describe('LinearRaw RGB and lossy DNG (JPEG tiles)', () => {
  const rgb = (bits: number, seed = 4): Uint16Array => syntheticMosaic(w * 3, h, bits, seed);
  const cases: [string, Layout, Uint16Array][] = [
    ['lossy JPEG tiles, sRGB curve', { tile: [32, 32], compression: 1, bits: 8, sensor: 'linear', lossy: {} }, rgb(8)],
    ['lossy JPEG, one strip, MapPolynomial per plane', { compression: 1, bits: 8, sensor: 'linear', lossy: { quality: 75, mapPolynomial: [[0, 0.5, 0.5], [0, 1, 0], [0.01, 0.2, 0.79]] } }, rgb(8, 5)],
    ['LinearRaw, uncompressed 16-bit', { compression: 1, bits: 16, sensor: 'linear' }, rgb(16)],
    ['LinearRaw, lossless JPEG tiles, 3 components', { tile: [32, 24], compression: 7, bits: 12, sensor: 'linear' }, rgb(12)],
    ['LinearRaw, packed 12-bit strips, linearization table', { rowsPerStrip: 7, compression: 1, bits: 12, sensor: 'linear', linearization: Array.from({ length: 4096 }, (_, i) => i * 3) }, rgb(12)],
  ];
  it.each(cases)('%s: decoded as dcraw -D -4 decodes it, byte for byte through rddm decode', async (_name, lay, plane) => {
    need('dcraw', ...(lay.lossy ? ['cjpeg'] : []));
    const dng = buildDng(plane, w, h, lay);
    const raw = readRaw(dng, 'l.dng');
    expect([raw.sensor, raw.width, raw.height, raw.mosaic.length]).toEqual(['linear RGB', w, h, w * h * 3]);
    if (!lay.lossy) {
      const lin = lay.linearization;
      expect(firstMismatch(raw.mosaic, lin ? plane.map((v) => lin[v]!) : plane)).toBe(-1);
    } else {
      // 8-bit JPEG samples through a monotonic curve: close to the source, exact against dcraw below.
      expect(raw.whiteLevel).toBe(65535);
      expect(raw.warnings).toEqual([]);
    }
    const file = join(dir, 'l.dng');
    writeFileSync(file, dng);
    const ref = new Uint8Array(runTool('dcraw', ['-D', '-4', '-c', file]));
    expect(firstMismatch(decodeNetpbm(ref).data, raw.mosaic)).toBe(-1);
    const out = join(dir, 'l.ppm');
    const err = console.error;
    console.error = () => undefined;
    try {
      expect(await decode.run([file, '-o', out])).toBe(0);
    } finally {
      console.error = err;
    }
    expect(Buffer.compare(Buffer.from(readFileSync(out)), Buffer.from(ref))).toBe(0);
  });
});

describe('the real CR2 as DNG variants', () => {
  it('its mosaic in category-17 lossless-JPEG tiles (big-endian) and in Deflate tiles: ours and dcraw give it back', () => {
    need('dcraw');
    const real = readRaw(new Uint8Array(readFileSync(testRawPath())), 'IMG_5952.CR2');
    const { width: rw, height: rh, mosaic } = real;
    const variants: [string, Layout, boolean][] = [
      ['lossless JPEG, categories 0..17, 2 components, 512x512 tiles, big-endian', { tile: [512, 512], compression: 7, bits: 12, components: 2, ljpeg: { wide: true }, bigEndian: true }, true],
      ['Deflate, predictor 34892, 256x256 tiles', { tile: [256, 256], compression: 8, bits: 16, predictor: 34892 }, false],
    ];
    for (const [name, lay, viaDcraw] of variants) {
      const dng = buildDng(mosaic, rw, rh, lay);
      const back = readRaw(dng, 'real.dng');
      expect(firstMismatch(back.mosaic, mosaic), name).toBe(-1);
      if (viaDcraw) {
        const file = join(dir, 'real.dng');
        writeFileSync(file, dng);
        expect(firstMismatch(decodePgm(new Uint8Array(runTool('dcraw', ['-D', '-4', '-c', file]))).data, mosaic), name).toBe(-1);
      }
    }
  }, 120_000);
});
