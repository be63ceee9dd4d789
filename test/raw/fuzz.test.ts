// Bounded fuzzing of readRaw: mutated CR2 headers, mutated DNGs (uncompressed and lossless JPEG),
// truncations and random bytes. Every case must return a well-formed RawImage or throw RawFormatError
// (never another exception type), each within a time bound. Seeded, so failures reproduce.

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
import { seededInts, syntheticMosaic, testRawPath } from '../helpers/test-raw.js';

/** Longest any single case may take (generous: the machine is shared). */
const CASE_LIMIT_MS = 3000;

function checkWellFormed(r: RawImage): void {
  expect(Number.isInteger(r.width) && r.width > 0 && Number.isInteger(r.height) && r.height > 0).toBe(true);
  expect(r.mosaic).toBeInstanceOf(Uint16Array);
  expect(r.mosaic.length).toBe(r.width * r.height);
  expect(CFA_PATTERNS).toContain(r.cfaPattern);
  expect(r.blackLevel.length).toBe(4);
  expect([...r.blackLevel, r.whiteLevel, ...r.asShotWB, ...r.cam2rgb.flat()].every(Number.isFinite)).toBe(true);
  expect(r.cam2rgb.length === 3 && r.cam2rgb.every((row) => row.length === 3)).toBe(true);
  expect(r.orientation >= 1 && r.orientation <= 8).toBe(true);
  expect(['dng', 'cr2']).toContain(r.format);
  expect(Array.isArray(r.warnings)).toBe(true);
}

interface Stats {
  cases: number;
  ok: number;
  rejected: number;
  maxMs: number;
  totalMs: number;
}

function runCase(bytes: Uint8Array, label: string, stats: Stats): void {
  const t0 = performance.now();
  let result: RawImage | undefined;
  try {
    result = readRaw(bytes, 'fuzz.raw');
  } catch (e) {
    if (!(e instanceof RawFormatError)) throw new Error(`${label}: threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    expect(e.message.startsWith('fuzz.raw: ')).toBe(true);
    stats.rejected++;
  }
  if (result) {
    checkWellFormed(result);
    stats.ok++;
  }
  const ms = performance.now() - t0;
  stats.cases++;
  stats.totalMs += ms;
  stats.maxMs = Math.max(stats.maxMs, ms);
  expect(ms, `${label} took ${ms.toFixed(0)} ms`).toBeLessThan(CASE_LIMIT_MS);
}

const INTERESTING = [0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];

/** `count` mutants of `seed`, with mutations confined to [from, to): bytes, words, truncations. */
function mutants(seed: Uint8Array, from: number, to: number, count: number, rngSeed: number): { bytes: Uint8Array; label: string }[] {
  const rand = seededInts(rngSeed);
  const region = to - from;
  const at = (n: number): number => from + rand(n);
  const out = [];
  for (let i = 0; i < count; i++) {
    const m = Uint8Array.from(seed);
    const dv = new DataView(m.buffer);
    const kind = rand(4);
    let label = `case ${i} (seed ${rngSeed})`;
    if (kind === 0) {
      const n = 1 + rand(4);
      for (let k = 0; k < n; k++) m[at(region)] = rand(256);
      label += `: ${n} random bytes`;
    } else if (kind === 1) {
      const pos = at(region - 4) & ~1;
      const v = INTERESTING[rand(INTERESTING.length)]!;
      if (rand(2)) dv.setUint32(pos, v >>> 0, rand(2) === 0);
      else dv.setUint16(pos, v & 0xffff, rand(2) === 0);
      label += `: word ${v} at ${pos}`;
    } else if (kind === 2) {
      const pos = at(region);
      m[pos]! ^= 1 << rand(8);
      label += `: bit flip at ${pos}`;
    } else {
      const len = rand(seed.length);
      out.push({ bytes: m.subarray(0, len), label: `${label}: truncated to ${len}` });
      continue;
    }
    out.push({ bytes: m, label });
  }
  return out;
}

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

function report(name: string, s: Stats): void {
  console.log(`[fuzz] ${name}: ${s.cases} cases (${s.ok} read, ${s.rejected} rejected) in ${s.totalMs.toFixed(0)} ms, slowest ${s.maxMs.toFixed(0)} ms`);
}

const fresh = (): Stats => ({ cases: 0, ok: 0, rejected: 0, maxMs: 0, totalMs: 0 });

describe('readRaw fuzzing', () => {
  it('survives 300 mutations each of an uncompressed DNG and a tiled lossless-JPEG DNG', () => {
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
    const stats = fresh();
    runCase(dng, 'unmutated DNG', stats);
    runCase(ljpeg, 'unmutated lossless-JPEG DNG', stats);
    expect(stats.ok).toBe(2);
    // Half the mutations anywhere, half in the IFD and its values (which follow the pixel data).
    const ifd = (b: Uint8Array): number => new DataView(b.buffer).getUint32(4, true);
    for (const [name, file, seed] of [['DNG', dng, 1], ['lossless-JPEG DNG', ljpeg, 2]] as const) {
      for (const m of mutants(file, 0, file.length, 150, seed)) runCase(m.bytes, `${name} ${m.label}`, stats);
      for (const m of mutants(file, ifd(file), file.length, 150, seed + 10)) runCase(m.bytes, `${name} IFD ${m.label}`, stats);
    }
    report('DNG', stats);
  });

  it('survives random bytes, with and without TIFF/CR2 signatures', () => {
    const rand = seededInts(3);
    const stats = fresh();
    for (let i = 0; i < 300; i++) {
      const b = Uint8Array.from({ length: rand(3000) }, () => rand(256));
      if (i % 3 === 1 && b.length >= 16) b.set([0x49, 0x49, 42, 0, 8, 0, 0, 0]);
      if (i % 3 === 2 && b.length >= 16) b.set([0x49, 0x49, 42, 0, 16, 0, 0, 0, 0x43, 0x52, 2, 0]);
      runCase(b, `random case ${i}`, stats);
    }
    report('random', stats);
  });

  const cr2Path = testRawPath();
  it.skipIf(!cr2Path)('survives 300 mutations of the CR2 header (with a small raw) and 12 of the full file', () => {
    const full = new Uint8Array(readFileSync(cr2Path!));
    const mini = miniCr2(full);
    const stats = fresh();
    runCase(mini, 'unmutated mini CR2', stats);
    expect(stats.ok).toBe(1);
    for (const m of mutants(mini, 0, mini.length, 300, 4)) runCase(m.bytes, `mini CR2 ${m.label}`, stats);
    report('CR2 header', stats);
    const fullStats = fresh();
    for (const m of mutants(full, 0, 76_700, 12, 5)) runCase(m.bytes, `full CR2 ${m.label}`, fullStats);
    report('full CR2', fullStats);
  });
});
