// DNG writing and reading: our writer → our reader and → dcraw/libraw; lossless-JPEG and packed DNGs
// built here (tiled and stripped) → our reader, cross-checked with dcraw where it reads them.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodePgm } from '../../src/io/pgm.js';
import { encodeTiff } from '../../src/io/tiff-writer.js';
import { builtinColor } from '../../src/raw/camera-table.js';
import { cam2rgbFromXyz2cam } from '../../src/raw/color-matrix.js';
import { writeDng } from '../../src/raw/dng-writer.js';
import { BAYER_PATTERNS as CFA_PATTERNS } from '../../src/raw/bayer-pattern.js';
import { cropPlane, type CfaPattern, type Matrix3 } from '../../src/raw/raw-image.js';
import { readRaw } from '../../src/raw/read-raw.js';
import { buildDng, type Layout } from '../helpers/dng-builder.js';
import { firstMismatch, runTool, syntheticMosaic, testRawPath } from '../helpers/test-raw.js';
import { need } from '../helpers/requirements.js';

const dir = mkdtempSync(join(tmpdir(), 'rddm-dng-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function toFile(name: string, bytes: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

const xyz2cam30D = builtinColor('Canon', 'EOS 30D')!.xyz2cam;

function sample(pattern: CfaPattern, w = 37, h = 29) {
  return {
    make: 'Test',
    model: 'Cam 1',
    width: w,
    height: h,
    mosaic: syntheticMosaic(w, h, 12, w + h),
    cfaPattern: pattern,
    blackLevel: [100, 101, 102, 103] as [number, number, number, number],
    whiteLevel: 4000,
    asShotWB: [2, 1, 1.5] as [number, number, number],
    cam2rgb: cam2rgbFromXyz2cam(xyz2cam30D)!,
    orientation: 6,
    iso: 400,
  };
}

describe('writeDng', () => {
  it.each(CFA_PATTERNS)('round-trips a %s mosaic through our reader', (pattern) => {
    const src = sample(pattern);
    const back = readRaw(writeDng(src), 'w.dng');
    expect(back.format).toBe('dng');
    expect(back.warnings).toEqual([]);
    expect([back.width, back.height, back.cfaPattern, back.orientation, back.iso, back.make, back.model]).toEqual([37, 29, pattern, 6, 400, 'Test', 'Cam 1']);
    expect(back.mosaic).toEqual(src.mosaic);
    expect(back.blackLevel).toEqual(src.blackLevel);
    expect(back.whiteLevel).toBe(4000);
    back.asShotWB.forEach((v, i) => expect(v).toBeCloseTo(src.asShotWB[i]!, 6));
    back.cam2rgb.flat().forEach((v, i) => expect(v).toBeCloseTo(src.cam2rgb.flat()[i]!, 5));
  });

  it('dcraw reads back the same mosaic, pattern and multipliers', () => {
    need('dcraw');
    for (const pattern of CFA_PATTERNS) {
      const src = sample(pattern);
      const file = toFile(`w-${pattern}.dng`, writeDng(src));
      const pgm = decodePgm(new Uint8Array(runTool('dcraw', ['-D', '-4', '-t', '0', '-c', file])));
      expect([pgm.width, pgm.height]).toEqual([src.width, src.height]);
      expect(firstMismatch(pgm.data, src.mosaic)).toBe(-1);
      const info = runTool('dcraw', ['-i', '-v', file]).toString();
      expect(info).toContain(`Filter pattern: ${pattern.slice(0, 2)}/${pattern.slice(2)}`);
      expect(info).toContain('Camera multipliers: 2.000000 1.000000 1.500000');
    }
  });

  it('libraw reads the per-position black levels, orientation and colour matrices', () => {
    need('raw-identify');
    const src = sample('GRBG');
    const info = runTool('raw-identify', ['-v', toFile('w-lib.dng', writeDng({ ...src, xyz2cam: xyz2cam30D }))]).toString();
    expect(info).toContain('cblack[6 .. 9]: 100 101 102 103');
    expect(info).toContain('Filter pattern: GRBGGRBGGRBGGRBG');
    expect(info).toContain('Image flip: 6');
    expect(info).toContain('DNG color matrix 1:\n0.6257\t-0.0303\t-0.1000\n-0.7880\t1.5621\t0.2396');
    // Without an xyz2cam the writer derives one from cam2rgb; libraw must get the same cam2rgb from it.
    const derived = runTool('raw-identify', ['-v', toFile('w-lib2.dng', writeDng(src))]).toString();
    const lines = derived.split('\n');
    const at = lines.findIndex((l) => l.startsWith('Camera2RGB matrix'));
    const m = lines.slice(at + 1, at + 4).map((l) => l.trim().split(/\s+/).map(Number));
    m.flat().forEach((v, i) => expect(Math.abs(v - src.cam2rgb.flat()[i]!)).toBeLessThan(2e-4));
  });

  it('round-trips the real CR2 through DNG (ours and dcraw)', () => {
    need('dcraw');
    const cr2 = testRawPath();
    const raw = readRaw(new Uint8Array(readFileSync(cr2)), 'IMG_5952.CR2');
    const dng = writeDng(raw);
    const back = readRaw(dng, 'IMG_5952.dng');
    expect(firstMismatch(back.mosaic, raw.mosaic)).toBe(-1);
    expect([back.width, back.height, back.cfaPattern, back.blackLevel, back.whiteLevel, back.xyz2cam]).toEqual([
      raw.width,
      raw.height,
      raw.cfaPattern,
      raw.blackLevel,
      raw.whiteLevel,
      raw.xyz2cam,
    ]);
    back.cam2rgb.flat().forEach((v, i) => expect(v).toBeCloseTo(raw.cam2rgb.flat()[i]!, 9));
    back.asShotWB.forEach((v, i) => expect(v).toBeCloseTo(raw.asShotWB[i]!, 5));
    const pgm = decodePgm(new Uint8Array(runTool('dcraw', ['-D', '-4', '-c', toFile('IMG_5952.dng', dng)])));
    expect(firstMismatch(pgm.data, raw.mosaic)).toBe(-1);
  });
});

describe('reading DNG layouts', () => {
  const w = 70;
  const h = 50;
  const cases: [string, Layout][] = [
    ['lossless JPEG, 32x24 tiles (partial edge tiles)', { tile: [32, 24], compression: 7, bits: 12 }],
    ['lossless JPEG, 2-component 32x16 tiles', { tile: [32, 16], compression: 7, bits: 14, components: 2 }],
    ['lossless JPEG, 16-row strips', { rowsPerStrip: 16, compression: 7, bits: 12 }],
    ['lossless JPEG, one strip, 2 components', { compression: 7, bits: 16, components: 2 }],
    ['uncompressed 16-bit tiles', { tile: [16, 16], compression: 1, bits: 16 }],
    ['uncompressed packed 12-bit strips', { rowsPerStrip: 7, compression: 1, bits: 12 }],
    ['uncompressed packed 10-bit', { compression: 1, bits: 10 }],
    ['uncompressed 8-bit strips', { rowsPerStrip: 9, compression: 1, bits: 8 }],
  ];
  it.each(cases)('%s', (_name, lay) => {
    const plane = syntheticMosaic(w, h, lay.bits, lay.bits + (lay.tile?.[0] ?? 0));
    const back = readRaw(buildDng(plane, w, h, lay), 'layout.dng');
    expect([back.width, back.height, back.cfaPattern, back.bitDepth, back.whiteLevel]).toEqual([w, h, 'GRBG', lay.bits, (1 << lay.bits) - 1]);
    expect(firstMismatch(back.mosaic, plane)).toBe(-1);
    expect(back.asShotWB[0]).toBeCloseTo(2, 9);
    expect(back.asShotWB[2]).toBeCloseTo(1.25, 9);
  });

  it('crops to ActiveArea, with pattern and black levels relative to its corner', () => {
    const plane = syntheticMosaic(w, h, 12, 3);
    const lay: Layout = { tile: [32, 32], compression: 7, bits: 12, activeArea: [3, 5, 47, 66], black: { dim: [1, 2], values: [64.5, 65] } };
    const back = readRaw(buildDng(plane, w, h, lay), 'aa.dng');
    expect([back.width, back.height, back.cfaPattern]).toEqual([61, 44, 'GRBG']);
    expect(firstMismatch(back.mosaic, cropPlane(plane, w, 5, 3, 61, 44))).toBe(-1);
    expect(back.blackLevel).toEqual([64.5, 65, 64.5, 65]);
  });

  it('dcraw decodes our tiled lossless-JPEG and packed DNGs to the same mosaic', () => {
    need('dcraw');
    for (const [name, lay] of [cases[0]!, cases[1]!, cases[5]!]) {
      const plane = syntheticMosaic(w, h, lay.bits, 11);
      const file = toFile('dcraw-layout.dng', buildDng(plane, w, h, lay));
      const pgm = decodePgm(new Uint8Array(runTool('dcraw', ['-D', '-4', '-c', file])));
      expect(firstMismatch(pgm.data, plane), name).toBe(-1);
    }
  });

  it('rejects what it cannot read with a clear RawFormatError', () => {
    const plane = syntheticMosaic(w, h, 12, 3);
    const dng = buildDng(plane, w, h, { compression: 1, bits: 16 });
    expect(() => readRaw(dng.subarray(0, 2000), 'cut.dng')).toThrow(/^cut\.dng: IFD 0 at offset \d+ points past the end of the file \(size 2000\)$/);
    const noDng = encodeTiff([{ tag: 256, type: 'long', values: [1] }], new Uint8Array(2));
    expect(() => readRaw(noDng, 'plain.tif')).toThrow('plain.tif: a TIFF without DNGVersion: not a DNG or CR2 file (starts with bytes 49 49 2a 00');
  });
});

describe('colour matrices', () => {
  it('cam2rgb inverts the row-normalised xyz2cam·sRGB2XYZ (rows of its inverse sum to 1)', () => {
    const m = cam2rgbFromXyz2cam(xyz2cam30D)!;
    // camera white (1,1,1) maps to sRGB white: each row of cam2rgb sums to 1.
    for (const row of m) expect(row[0] + row[1] + row[2]).toBeCloseTo(1, 12);
    const expected: Matrix3 = [
      [1.8499, -0.9964, 0.1465],
      [-0.0383, 1.3374, -0.2991],
      [0.0563, -0.351, 1.2946],
    ]; // raw-identify -v, "Camera2RGB matrix", for the EOS 30D
    m.flat().forEach((v, i) => expect(Math.abs(v - expected.flat()[i]!)).toBeLessThan(2e-4));
  });
});
