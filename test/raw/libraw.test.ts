// The LibRaw path (libraw-wasm): on the files our own readers also read (the real CR2, DNGs from our writer
// and builder) it must give the same mosaic, bit for bit, and the same metadata; non-Bayer DNGs (X-Trans,
// monochrome), which only LibRaw reads, must match dcraw -D -4 and open for info/decode while restore
// refuses them; files neither reads fail with exit code 1 and a message naming both readers.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { rawInfo } from '../../src/cli/commands/info.js';
import { decodePgm } from '../../src/io/pgm.js';
import { useNodeLibRaw } from '../../src/node/libraw-node.js';
import { builtinColor } from '../../src/raw/camera-table.js';
import { cam2rgbFromXyz2cam } from '../../src/raw/color-matrix.js';
import { writeDng } from '../../src/raw/dng-writer.js';
import { RawFormatError, RawUnsupportedError } from '../../src/raw/errors.js';
import { openRaw } from '../../src/raw/open-raw.js';
import type { RawImage } from '../../src/raw/raw-image.js';
import { buildDng, type Layout } from '../helpers/dng-builder.js';
import { avtF080c, firstMismatch, runTool, syntheticMosaic, testRawPath } from '../helpers/test-raw.js';
import { need } from '../helpers/requirements.js';

const dir = mkdtempSync(join(tmpdir(), 'rddm-libraw-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(() => useNodeLibRaw());

/** Metadata of both paths agrees: exactly, except float32 rounding in LibRaw's matrices. */
function expectSameImage(lib: RawImage, ours: RawImage): void {
  expect(lib.reader).toBe('libraw');
  expect(firstMismatch(lib.mosaic, ours.mosaic)).toBe(-1);
  const a = rawInfo(lib);
  const b = rawInfo(ours);
  const strip = ({ reader: _r, cam2rgb: _c, asShotWB: _w, warnings: _x, iso: _i, ...rest }: ReturnType<typeof rawInfo>) => rest;
  expect(strip(a)).toEqual(strip(b));
  // LibRaw reads ISO from the EXIF IFD only; our writer stores it in IFD 0 (both are valid DNG).
  if (a.iso !== undefined) expect(a.iso).toBe(b.iso);
  a.asShotWB.forEach((v, i) => expect(v).toBeCloseTo(b.asShotWB[i]!, 6));
  a.cam2rgb.flat().forEach((v, i) => expect(v).toBeCloseTo(b.cam2rgb.flat()[i]!, 6));
}

const xyz2cam = builtinColor('Canon', 'EOS 30D')!.xyz2cam;

describe('LibRaw path against our own readers', () => {
  it('the real CR2: same mosaic and metadata as the native reader (and so as dcraw)', async () => {
    const bytes = new Uint8Array(readFileSync(testRawPath()));
    const t0 = performance.now();
    const lib = await openRaw(bytes, 'IMG_5952.CR2', 'libraw');
    console.log(`[libraw] CR2 through LibRaw in ${(performance.now() - t0).toFixed(0)} ms`);
    expectSameImage(lib, await openRaw(bytes, 'IMG_5952.CR2', 'native'));
    expect(lib.blackLevel).toEqual([128, 128, 127, 128]);
  }, 60_000);

  it('DNGs from our writer: orientation, ISO, per-position black levels', async () => {
    for (const orientation of [1, 3, 6, 8]) {
      const dng = writeDng({
        make: 'Test', model: 'Cam 1', width: 37, height: 29, mosaic: syntheticMosaic(37, 29, 12, 4), cfaPattern: 'GBRG',
        blackLevel: [100, 101, 102, 103], whiteLevel: 4000, asShotWB: [2, 1, 1.5], cam2rgb: cam2rgbFromXyz2cam(xyz2cam)!, xyz2cam, orientation, iso: 400,
      });
      expectSameImage(await openRaw(dng, 'w.dng', 'libraw'), await openRaw(dng, 'w.dng', 'native'));
    }
  });

  const layouts: [string, Layout][] = [
    ['lossless JPEG tiles', { tile: [32, 24], compression: 7, bits: 12 }],
    ['lossless JPEG, category 17, 2 components', { tile: [32, 24], compression: 7, bits: 16, components: 2, ljpeg: { predictor: 4, wide: true } }],
    ['packed 12-bit strips, big-endian', { rowsPerStrip: 7, compression: 1, bits: 12, bigEndian: true }],
    ['uncompressed 16-bit tiles', { tile: [16, 16], compression: 1, bits: 16 }],
    ['ActiveArea and a 2x2 black pattern', { compression: 1, bits: 16, activeArea: [2, 4, 48, 66], black: { dim: [2, 2], values: [60, 61, 62, 63] } }],
  ];
  it.each(layouts)('DNG layout: %s', async (_n, lay) => {
    const plane = syntheticMosaic(70, 50, lay.bits, 7);
    const dng = buildDng(plane, 70, 50, lay);
    expectSameImage(await openRaw(dng, 'l.dng', 'libraw'), await openRaw(dng, 'l.dng', 'native'));
  });
});

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  try {
    return { code: await runCli(argv), out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

describe('formats only LibRaw reads', () => {
  const xtrans = join(dir, 'xtrans.dng');
  const mono = join(dir, 'mono.dng');
  const noise = join(dir, 'noise.nef');
  const xtPlane = syntheticMosaic(72, 48, 12, 2);
  const monoPlane = syntheticMosaic(70, 50, 12, 3);
  beforeAll(() => {
    writeFileSync(xtrans, buildDng(xtPlane, 72, 48, { compression: 1, bits: 16, sensor: 'x-trans', black: { dim: [1, 1], values: [64] } }));
    writeFileSync(mono, buildDng(monoPlane, 70, 50, { tile: [32, 32], compression: 7, bits: 12, sensor: 'monochrome' }));
    writeFileSync(noise, Uint8Array.from({ length: 6000 }, (_, i) => (i * 7919 + 13) & 255));
  });

  it('a camera format our readers do not read (a headerless AVT F-080C dump): LibRaw gives the mosaic dcraw -D -4 writes', async () => {
    const bytes = avtF080c();
    const raw = await openRaw(bytes, 'avt.raw');
    expect([raw.reader, raw.format, raw.make, raw.model, raw.width, raw.height, raw.cfaPattern, raw.sensor, raw.bitDepth]).toEqual(['libraw', 'raw', 'AVT', 'F-080C', 1024, 768, 'RGGB', undefined, 8]);
    expect(firstMismatch(raw.mosaic, bytes)).toBe(-1);
    need('dcraw');
    const file = join(dir, 'avt.raw');
    writeFileSync(file, bytes);
    expect(firstMismatch(decodePgm(new Uint8Array(runTool('dcraw', ['-D', '-4', '-c', file]))).data, raw.mosaic)).toBe(-1);
    expect(runTool('dcraw', ['-i', '-v', file]).toString()).toContain('Filter pattern: RG/GB');
  });

  it('X-Trans and monochrome DNGs open through LibRaw, with the mosaic dcraw -D -4 writes', async () => {
    for (const [file, plane, sensor] of [[xtrans, xtPlane, 'X-Trans'], [mono, monoPlane, 'monochrome']] as const) {
      const raw = await openRaw(new Uint8Array(readFileSync(file)), 'f.dng');
      expect([raw.reader, raw.sensor, raw.format]).toEqual(['libraw', sensor, 'dng']);
      expect(firstMismatch(raw.mosaic, plane)).toBe(-1);
      need('dcraw');
      expect(firstMismatch(decodePgm(new Uint8Array(runTool('dcraw', ['-D', '-4', '-c', file]))).data, raw.mosaic)).toBe(-1);
    }
    expect((await openRaw(new Uint8Array(readFileSync(xtrans)), 'x.dng')).blackLevel).toEqual([64, 64, 64, 64]);
  });

  it('info and decode work on them; restore refuses them naming the sensor, exit code 1', async () => {
    const info = await cli('info', xtrans, '--json');
    expect(info.code).toBe(0);
    expect(JSON.parse(info.out)).toMatchObject({ format: 'dng', reader: 'libraw', sensor: 'X-Trans', width: 72, height: 48 });
    const pgm = join(dir, 'm.pgm');
    expect((await cli('decode', mono, '-o', pgm)).code).toBe(0);
    expect(firstMismatch(decodePgm(new Uint8Array(readFileSync(pgm))).data, monoPlane)).toBe(-1);
    const r = await cli('restore', xtrans, '-o', join(dir, 'r.png'), '--weights', 'weights/rddm-tiny');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^rddm restore: .*xtrans\.dng: X-Trans sensor: restoration needs a 2x2 RGB Bayer mosaic \(RGGB, BGGR, GRBG or GBRG\)/);
  }, 60_000);

  it('a file neither reads: exit code 1, naming both readers', async () => {
    const r = await cli('info', noise);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^rddm info: noise\.nef: not a DNG or CR2 file \(starts with bytes .*\), and LibRaw .* cannot open it: not a camera RAW format LibRaw knows, or a damaged one$/);
    await expect(openRaw(new Uint8Array(readFileSync(noise)), 'n.nef')).rejects.toThrow(RawUnsupportedError);
    // --reader native does not fall back.
    expect((await cli('info', xtrans, '--reader', 'native')).err).toMatch(/CFA repeat 6x6 is not a 2x2 Bayer tile/);
  });

  it('a corrupt DNG is not handed to LibRaw: our reader says what is wrong', async () => {
    const bad = buildDng(monoPlane, 70, 50, { compression: 1, bits: 16 }).subarray(0, 3000);
    await expect(openRaw(bad, 'cut.dng')).rejects.toThrow(RawFormatError);
    await expect(openRaw(bad, 'cut.dng')).rejects.not.toThrow(/LibRaw/);
  });
});
