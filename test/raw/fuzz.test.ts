// Bounded fuzzing of readRaw: mutated CR2 headers (the real Canon file's), mutated DNGs of ours (uncompressed,
// tiled lossless JPEG, packed 12-bit strips, SubIFD layout), truncations and random bytes. Every case must return
// a well-formed RawImage or throw RawFormatError naming the file, within the time and allocation bounds of
// test/helpers/fuzz.ts. Seeded, so failures reproduce; FUZZ_CASES=N runs N cases per input instead.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { builtinColor } from '../../src/raw/camera-table.js';
import { cam2rgbFromXyz2cam } from '../../src/raw/color-matrix.js';
import { writeDng } from '../../src/raw/dng-writer.js';
import { RawFormatError } from '../../src/raw/errors.js';
import { BAYER_PATTERNS as CFA_PATTERNS } from '../../src/raw/bayer-pattern.js';
import type { RawImage } from '../../src/raw/raw-image.js';
import { readRaw } from '../../src/raw/read-raw.js';
import { TiffFile } from '../../src/raw/tiff-ifd.js';
import { buildDng } from '../helpers/dng-builder.js';
import { encodeLosslessJpeg } from '../helpers/ljpeg-encoder.js';
import { fuzzCount, mutants, randomInputs, runFuzz, tiffEntryMutants, type FuzzTarget } from '../helpers/fuzz.js';
import { syntheticMosaic, testRawPath } from '../helpers/test-raw.js';
import { need } from '../helpers/requirements.js';

function checkWellFormed(r: RawImage): void {
  expect(Number.isInteger(r.width) && r.width > 0 && Number.isInteger(r.height) && r.height > 0).toBe(true);
  expect(r.mosaic).toBeInstanceOf(Uint16Array);
  expect(r.mosaic.length).toBe(r.width * r.height * (r.sensor === 'linear RGB' ? 3 : 1));
  expect(CFA_PATTERNS).toContain(r.cfaPattern);
  expect(r.blackLevel.length).toBe(4);
  expect([...r.blackLevel, r.whiteLevel, ...r.asShotWB, ...r.cam2rgb.flat()].every(Number.isFinite)).toBe(true);
  expect(r.cam2rgb.length === 3 && r.cam2rgb.every((row) => row.length === 3)).toBe(true);
  expect(r.orientation >= 1 && r.orientation <= 8).toBe(true);
  expect(['dng', 'cr2']).toContain(r.format);
  expect([undefined, 'linear RGB']).toContain(r.sensor);
  expect(Array.isArray(r.warnings)).toBe(true);
}

const rawTarget: FuzzTarget<RawImage> = {
  name: 'readRaw',
  parse: (bytes) => readRaw(bytes, 'fuzz.raw'),
  errors: [RawFormatError],
  check: checkWellFormed,
  checkError: (e) => expect(e.message.startsWith('fuzz.raw: ')).toBe(true),
  // The decoders hold at most the entropy-coded bytes and 16-bit samples (<= 8 per byte of file), plus 128 KiB
  // Huffman tables.
  allocationBound: (n) => 32 * n + (1 << 20),
};

/** The real CR2's header (IFDs, EXIF, maker note) with a small lossless JPEG as its raw image. */
function miniCr2(full: Uint8Array): Uint8Array {
  const t = new TiffFile(full, 'IMG_5952.CR2');
  const raw = t.readIfd(t.r.u32(12), 'raw IFD');
  const keep = raw.entries.get(0xc640)!.valueOffset + 6;
  const jpeg = encodeLosslessJpeg(syntheticMosaic(80, 30, 12, 4), 40, 30, 2, { precision: 12 });
  const out = new Uint8Array(keep + jpeg.length);
  out.set(full.subarray(0, keep));
  out.set(jpeg, keep);
  const dv = new DataView(out.buffer);
  dv.setUint32(raw.entries.get(273)!.valueOffset, keep, true);
  dv.setUint32(raw.entries.get(279)!.valueOffset, jpeg.length, true);
  [1, 40, 40].forEach((v, i) => dv.setUint16(raw.entries.get(0xc640)!.valueOffset + 2 * i, v, true));
  return out;
}

const ifdOffset = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset).getUint32(4, true);

describe('readRaw fuzzing', () => {
  it('survives mutations of our own DNGs: uncompressed, tiled lossless JPEG, packed 12-bit strips', async () => {
    const xyz2cam = builtinColor('Canon', 'EOS 30D')!.xyz2cam;
    const dng = writeDng({
      width: 37,
      height: 29,
      mosaic: syntheticMosaic(37, 29, 12),
      cfaPattern: 'GBRG',
      blackLevel: [64, 64, 64, 64],
      whiteLevel: 4095,
      asShotWB: [2, 1, 1.5],
      cam2rgb: cam2rgbFromXyz2cam(xyz2cam)!,
      xyz2cam,
    });
    const ljpeg = buildDng(syntheticMosaic(40, 30, 12), 40, 30, { tile: [16, 16], compression: 7, bits: 12, activeArea: [1, 2, 29, 38] });
    const packed = buildDng(syntheticMosaic(26, 20, 12), 26, 20, { rowsPerStrip: 7, compression: 1, bits: 12, black: { dim: [2, 2], values: [60, 61, 62, 63] } });
    const seeds = [['DNG', dng], ['lossless-JPEG DNG', ljpeg], ['packed DNG', packed]] as const;
    const n = fuzzCount(150);
    for (const [k, [name, file]] of seeds.entries()) {
      const s = await runFuzz({ ...rawTarget, name: `readRaw ${name}` }, [
        { bytes: file, label: 'unmutated' },
        // Half the mutations anywhere, half in the IFD and its values (which follow the pixel data).
        ...mutants(file, n, 1 + k),
        ...mutants(file, n, 11 + k, ifdOffset(file)),
        ...tiffEntryMutants(file, n, 21 + k),
      ]);
      expect(s.ok).toBeGreaterThan(0);
      expect(s.rejected).toBeGreaterThan(0);
    }
  });

  it('survives mutations of Deflate (integer and float, DNG predictors), category-17 lossless-JPEG, big-endian and lossy-JPEG DNGs', async () => {
    const intDeflate = buildDng(syntheticMosaic(40, 30, 16), 40, 30, { tile: [16, 16], compression: 8, bits: 16, predictor: 34892, activeArea: [1, 2, 29, 38] });
    const floats = Float32Array.from(syntheticMosaic(40, 30, 12, 7), (v) => v / 4096);
    const floatDeflate = buildDng(floats, 40, 30, { tile: [16, 16], compression: 8, bits: 16, float: true, predictor: 34894 });
    const wide = buildDng(syntheticMosaic(40, 30, 16, 2), 40, 30, { tile: [16, 16], compression: 7, bits: 16, ljpeg: { predictor: 4, wide: true }, bigEndian: true, gainMap: true, blackDelta: { v: new Array(30).fill(1) } });
    // Lossy DNG: LinearRaw RGB in baseline JPEG tiles (written by libjpeg's cjpeg).
    need('cjpeg');
    const lossy = buildDng(syntheticMosaic(40 * 3, 30, 8, 3), 40, 30, { tile: [16, 16], compression: 1, bits: 8, sensor: 'linear', lossy: {} });
    const seeds = [['Deflate DNG', intDeflate], ['float Deflate DNG', floatDeflate], ['category-17 big-endian DNG', wide], ['lossy JPEG DNG', lossy]] as const;
    const n = fuzzCount(100);
    for (const [k, [name, file]] of seeds.entries()) {
      const be = file[0] === 0x4d;
      const ifd = new DataView(file.buffer, file.byteOffset).getUint32(4, !be);
      // Deflate planes may hold up to 256 samples per file byte (Float32 while decoding), a tile up to 1032x its bytes.
      const s = await runFuzz({ ...rawTarget, name: `readRaw ${name}`, allocationBound: (b) => 1100 * b + (1 << 20) }, [
        { bytes: file, label: 'unmutated' },
        ...mutants(file, n, 31 + k),
        ...mutants(file, n, 41 + k, ifd),
        ...tiffEntryMutants(file, n, 51 + k),
      ]);
      expect(s.ok).toBeGreaterThan(0);
      expect(s.rejected).toBeGreaterThan(0);
    }
  });

  it('survives random bytes, bare and behind TIFF, big-endian TIFF, CR2 and JPEG signatures', async () => {
    const prefixes = [
      [0x49, 0x49, 42, 0, 8, 0, 0, 0],
      [0x4d, 0x4d, 0, 42, 0, 0, 0, 8],
      [0x49, 0x49, 42, 0, 16, 0, 0, 0, 0x43, 0x52, 2, 0],
      [0xff, 0xd8, 0xff, 0xc3],
    ];
    const s = await runFuzz(rawTarget, randomInputs(fuzzCount(400), 3, 3000, prefixes));
    expect(s.ok).toBe(0);
  });

  it('survives mutations of the real CR2 header (with a small raw) and a few of the full file', async () => {
    const full = new Uint8Array(readFileSync(testRawPath()));
    const mini = miniCr2(full);
    const s = await runFuzz({ ...rawTarget, name: 'readRaw mini CR2' }, [{ bytes: mini, label: 'unmutated' }, ...mutants(mini, fuzzCount(300), 4), ...tiffEntryMutants(mini, fuzzCount(150), 6)]);
    expect(s.ok).toBeGreaterThan(0);
    // The full 8-Mpixel file takes ~0.3 s a case: mutations of its header only (the IFDs end before 76,700).
    await runFuzz({ ...rawTarget, name: 'readRaw full CR2', caseLimitMs: 15_000 }, mutants(full, Math.ceil(fuzzCount(300) / 25), 5, 0, 76_700));
  });
});
