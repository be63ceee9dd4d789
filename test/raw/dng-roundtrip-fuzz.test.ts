// The DNG writer under fuzzing: random valid images, patterns and metadata must read back equal (pixels exactly,
// rationals to 1e-9), and invalid ones (NaN levels, bad orientation, non-ASCII names, zero white balance, ...)
// must be refused with a RangeError naming the field: the writer never writes a file that reads back different.
// FUZZ_CASES=N runs N cases of each kind.

import { describe, expect, it } from 'vitest';
import { writeDng, type DngSource } from '../../src/raw/dng-writer.js';
import { inverse3 } from '../../src/raw/color-matrix.js';
import { BAYER_PATTERNS } from '../../src/raw/bayer-pattern.js';
import type { Matrix3, RawImage } from '../../src/raw/raw-image.js';
import { readRaw } from '../../src/raw/read-raw.js';
import { fuzzCount, fuzzRng } from '../helpers/fuzz.js';

type Rand = (n: number) => number;
const uniform = (rand: Rand, lo: number, hi: number): number => lo + ((hi - lo) * rand(1 << 30)) / (1 << 30);
const PRINTABLE = ' ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.()/+';

function name(rand: Rand): string {
  const s = Array.from({ length: rand(12) }, () => PRINTABLE[rand(PRINTABLE.length)]).join('');
  return s.trim();
}

/** A camera matrix whose inverse's rows sum to 1 (what every reader produces, dcraw's normalisation). */
function cam2rgb(rand: Rand): Matrix3 {
  for (;;) {
    const rgb2cam = [0, 1, 2].map((i) => {
      const row = [0, 1, 2].map((j) => (i === j ? uniform(rand, 0.5, 2) : uniform(rand, -0.3, 0.6)));
      const sum = row[0]! + row[1]! + row[2]!;
      return row.map((v) => v / sum);
    }) as Matrix3;
    const inv = inverse3(rgb2cam);
    if (inv && inv.flat().every((v) => Math.abs(v) < 20)) return inv;
  }
}

function validSource(rand: Rand): DngSource {
  const width = 1 + rand(40);
  const height = 1 + rand(40);
  const bits = [8, 12, 14, 16][rand(4)]!;
  const mosaic = Uint16Array.from({ length: width * height }, () => rand(1 << bits));
  const intBlack = rand(3) > 0;
  const black = (): number => (intBlack ? rand(1 << Math.min(bits, 12)) : Math.round(uniform(rand, 0, 2000) * 64) / 64);
  const src: DngSource = {
    width,
    height,
    mosaic,
    cfaPattern: BAYER_PATTERNS[rand(4)]!,
    blackLevel: [black(), black(), black(), black()],
    whiteLevel: 1 + rand(2 ** 16 - 1),
    asShotWB: [uniform(rand, 0.2, 8), 1, uniform(rand, 0.2, 8)],
    cam2rgb: cam2rgb(rand),
    orientation: 1 + rand(8),
    make: name(rand),
    model: name(rand),
  };
  if (rand(2)) src.iso = 1 + rand(65535);
  return src;
}

const close = (a: readonly number[], b: readonly number[], tol: number): boolean =>
  a.length === b.length && a.every((v, i) => Math.abs(v - b[i]!) <= tol * Math.max(1, Math.abs(b[i]!)));

/** What a reader must return for `src`: the source itself, with the reader's documented naming conventions. */
function checkRoundTrip(src: DngSource, got: RawImage, label: string): void {
  const make = src.make || 'Unknown';
  let model = src.model || 'Unknown';
  if (model.startsWith(make + ' ')) model = model.slice(make.length + 1); // readers drop a repeated make, as dcraw
  const ctx = `${label}: ${JSON.stringify({ ...src, mosaic: undefined })}`;
  expect([got.width, got.height, got.cfaPattern, got.orientation, got.bitDepth, got.format], ctx).toEqual([src.width, src.height, src.cfaPattern, src.orientation ?? 1, 16, 'dng']);
  expect(got.mosaic, ctx).toEqual(src.mosaic);
  expect([got.make, got.model], ctx).toEqual([make, model]);
  expect(got.whiteLevel, ctx).toBe(src.whiteLevel);
  expect(close(got.blackLevel, src.blackLevel, 1e-9), `${ctx}: black ${got.blackLevel}`).toBe(true);
  const wb = src.asShotWB.map((m) => m / src.asShotWB[1]);
  expect(close(got.asShotWB, wb, 1e-9), `${ctx}: WB ${got.asShotWB}`).toBe(true);
  expect(close(got.cam2rgb.flat(), src.cam2rgb.flat(), 1e-6), `${ctx}: cam2rgb ${got.cam2rgb}`).toBe(true);
  expect(got.iso, ctx).toBe(src.iso);
  expect(got.warnings, ctx).toEqual([]);
}

/** One field of a valid source broken; the writer must refuse it with a RangeError naming that field. */
const BREAKERS: { field: string; apply(s: DngSource, rand: Rand): void }[] = [
  { field: 'whiteLevel', apply: (s, r) => (s.whiteLevel = [NaN, Infinity, -1, 0, 4095.5, 2 ** 32][r(6)]!) },
  {
    field: 'blackLevel',
    apply: (s, r) => {
      const b = [...s.blackLevel] as DngSource['blackLevel'];
      b[r(4)] = [NaN, -1, Infinity, 2 ** 40][r(4)]!;
      s.blackLevel = b;
    },
  },
  { field: 'orientation', apply: (s, r) => (s.orientation = [0, 9, 2.5, -1, NaN][r(5)]!) },
  { field: 'asShotWB', apply: (s, r) => (s.asShotWB = [[0, 1, 1], [NaN, 1, 1], [1, 1, Infinity], [1e-12, 1, 1], [1, 1e12, 1], [-2, 1, 1]][r(6)] as DngSource['asShotWB']) },
  { field: 'cam2rgb', apply: (s, r) => (s.cam2rgb = [[[1, 0, 0], [0, 1, 0], [0, 0, 0]], [[NaN, 0, 0], [0, 1, 0], [0, 0, 1]], [[1, 1, 1], [1, 1, 1], [1, 1, 1]]][r(3)] as Matrix3) },
  { field: 'make', apply: (s, r) => (s.make = ['Caf\u00e9', '\u6f22', 'a\u0000b', 'tab\there', 'x'.repeat(5000)][r(5)]!) },
  { field: 'model', apply: (s, r) => (s.model = ['\u00fc', 'new\nline', '\u{1f4f7}'][r(3)]!) },
  { field: 'size', apply: (s, r) => ([s.width, s.height] = [[0, 4], [4, -1], [2.5, 4], [NaN, 4]][r(4)]!) },
  { field: 'mosaic', apply: (s) => (s.mosaic = s.mosaic.subarray(1)) },
  { field: 'cfaPattern', apply: (s, r) => (s.cfaPattern = ['RGBG', 'rggb', ''][r(3)] as DngSource['cfaPattern']) },
  { field: 'iso', apply: (s, r) => (s.iso = [0, -5, 65536, 100.5, NaN][r(5)]!) },
];

describe('DNG writer round trip under fuzzing', () => {
  it('random valid images, patterns and metadata read back equal', () => {
    const rand = fuzzRng(91);
    const n = fuzzCount(300);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const src = validSource(rand);
      const bytes = writeDng(src);
      checkRoundTrip(src, readRaw(bytes, 'roundtrip.dng'), `case ${i}`);
    }
    console.log(`[fuzz] DNG write/read round trip: ${n} valid cases in ${(performance.now() - t0).toFixed(0)} ms`);
  });

  it('invalid sources are refused with a RangeError naming the field, never written', () => {
    const rand = fuzzRng(92);
    const n = fuzzCount(300);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const src = validSource(rand);
      const breaker = BREAKERS[i % BREAKERS.length]!;
      breaker.apply(src, rand);
      const label = `case ${i} (${breaker.field} = ${JSON.stringify((src as unknown as Record<string, unknown>)[breaker.field] ?? [src.width, src.height])})`;
      let written: Uint8Array | undefined;
      try {
        written = writeDng(src);
      } catch (e) {
        expect(e, label).toBeInstanceOf(RangeError);
        expect((e as Error).message, label).toMatch(/^writeDng: /);
        continue;
      }
      // A value the writer accepted (e.g. an ISO it leaves out) must still read back as documented.
      throw new Error(`${label}: accepted (${written.length} bytes)`);
    }
    console.log(`[fuzz] DNG writer: ${n} invalid sources refused in ${(performance.now() - t0).toFixed(0)} ms`);
  });
});
