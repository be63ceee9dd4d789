// dcraw's automatic brightness (src/rddm/exposure.ts): the percentile rule against a plain float64 reference on
// synthetic pictures, and against dcraw itself on the real CR2 (its white point, pixel for pixel, and ours from the RAW).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readRaw } from '../../src/raw/read-raw.js';
import { autoExposureGain, exposureGain, gainFromWhiteBin, HISTOGRAM_BINS, outputHistograms, parseExposure, whitePointBin } from '../../src/rddm/exposure.js';
import { need } from '../helpers/requirements.js';
import { runTool, seededInts, testRawPath } from '../helpers/test-raw.js';

/**
 * The rule restated as a percentile, independently of the histogram walk: the white bin is the bin of the
 * (⌊0.01·N⌋+1)-th brightest value of a channel (at least perc+1 values lie at or above it), never below 32; the
 * largest over the channels.
 */
function referenceWhiteBin(channels: readonly Float64Array[]): number {
  const n = channels[0]!.length;
  const perc = Math.trunc(n * 0.01);
  let white = 0;
  for (const ch of channels) {
    const bins = Array.from(ch, (v) => Math.min(65535, Math.max(0, Math.trunc(v * 65535))) >> 3).sort((a, b) => b - a);
    white = Math.max(white, Math.max(32, bins[perc]!));
  }
  return white;
}

/** A 16-bit binary PPM from dcraw, as channel-interleaved values. */
function readPpm16(buf: Buffer): { width: number; height: number; px: Uint16Array } {
  const head = buf.toString('latin1', 0, 64).match(/^P6\s+(\d+)\s+(\d+)\s+(\d+)\s/)!;
  const [width, height, max] = [Number(head[1]), Number(head[2]), Number(head[3])];
  expect(max).toBe(65535);
  const start = head[0].length;
  const px = new Uint16Array(width * height * 3);
  for (let i = 0; i < px.length; i++) px[i] = buf.readUInt16BE(start + 2 * i);
  return { width, height, px };
}

function histogramsOf(px: Uint16Array): Uint32Array[] {
  const h = [0, 1, 2].map(() => new Uint32Array(HISTOGRAM_BINS));
  for (let i = 0; i < px.length; i++) h[i % 3]![px[i]! >> 3]++;
  return h;
}

describe('exposure', () => {
  it('parses auto, none and EV values, and names the forms on anything else', () => {
    expect([parseExposure('auto'), parseExposure('NONE'), parseExposure('1.5'), parseExposure('-0.5'), parseExposure('+2'), parseExposure('.5')]).toEqual(['auto', 'none', 1.5, -0.5, 2, 0.5]);
    for (const bad of ['bright', '', 'NaN', '1e3', '17', '-16.5', 'Infinity', '0x10']) expect(() => parseExposure(bad), bad).toThrow(/--exposure must be auto .*none .*EV/);
  });

  it('finds the white bin by dcraw\'s rule: strictly more than 1% above, at least bin 32, the brightest channel', () => {
    const n = 10_000; // perc = 100
    const flat = (bin: number, count: number, rest: number) => {
      const h = new Uint32Array(HISTOGRAM_BINS);
      h[bin] += count;
      h[rest] += n - count;
      return h;
    };
    // Exactly 1% above is not "more than": the walk goes on down to the bulk.
    expect(whitePointBin([flat(5000, 100, 700)], n)).toBe(700);
    expect(whitePointBin([flat(5000, 101, 700)], n)).toBe(5000);
    // The largest channel white wins.
    expect(whitePointBin([flat(5000, 100, 700), flat(6000, 101, 10), flat(3000, 500, 0)], n)).toBe(6000);
    // A black picture stops at 32: the largest gain is 256.
    expect(whitePointBin([flat(3, n, 0)], n)).toBe(32);
    expect(gainFromWhiteBin(32)).toBe(256);
    // Fewer than 100 pixels: perc = 0, so the brightest pixel is the white.
    expect(whitePointBin([flat(4321, 1, 40)], 99)).toBe(4321);
  });

  it('matches a plain percentile reference on random pictures (float64), truncating to 16 bits as dcraw does', () => {
    const rand = seededInts(3);
    for (const [n, scale] of [[1, 1], [37, 0.3], [999, 0.05], [12_345, 1.2], [40_000, 0.8]] as const) {
      const channels = [0, 1, 2].map((c) => Float64Array.from({ length: n }, () => ((rand(1 << 20) / (1 << 20)) ** (1 + c)) * scale - 0.01));
      const hist = outputHistograms(n, (i, out) => channels.forEach((ch, c) => (out[c] = ch[i]!)));
      expect(whitePointBin(hist, n), `n=${n}`).toBe(referenceWhiteBin(channels));
    }
    // Values exactly on a bin's edge: 8/65535 is bin 1, just under it bin 0; above 1 clips to the last bin.
    const edge = outputHistograms(3, (i, out) => out.fill([8 / 65535, 7.999 / 65535, 2][i]!));
    expect([edge[0]![1], edge[0]![0], edge[0]![HISTOGRAM_BINS - 1]]).toEqual([1, 1, 1]);
  });

  it('gives dcraw\'s white point on the real CR2: dcraw\'s own picture, pixel for pixel, and ours from the RAW', () => {
    need('dcraw');
    const cr2 = testRawPath();
    // dcraw -4: 16-bit linear, no white point (the values its histogram is built from); -6 -g 1 1: 16-bit, linear
    // curve, with its automatic white point. -w: camera white balance; -h: half size (its 2×2 "superpixels").
    const lin = readPpm16(runTool('dcraw', ['-w', '-h', '-4', '-c', cr2]));
    const auto = readPpm16(runTool('dcraw', ['-w', '-h', '-6', '-g', '1', '1', '-c', cr2]));
    const white = whitePointBin(histogramsOf(lin.px), lin.width * lin.height);
    // dcraw's linear curve with white `white`: floor(65536 · v / (8 · white)), 65535 at and above full scale.
    let mismatches = 0;
    for (let i = 0; i < lin.px.length; i++) {
      const v = lin.px[i]!;
      const expected = v >= 8 * white ? 65535 : Math.floor((65536 * v) / (8 * white));
      if (expected !== auto.px[i]) mismatches++;
    }
    expect(mismatches).toBe(0);
    // From our own decode of the RAW (dcraw's half-size picture, rebuilt), the same white bin.
    const raw = readRaw(new Uint8Array(readFileSync(cr2)), 'IMG_5952.CR2');
    const ours = autoExposureGain(raw);
    expect(HISTOGRAM_BINS / ours).toBe(white);
    expect(exposureGain('auto', raw)).toBe(ours);
    expect([exposureGain('none', raw), exposureGain(-1, raw)]).toEqual([1, 0.5]);
    // What a user sees: dcraw's default rendering against -W (8-bit BT.709 curve), mean levels.
    const mean8 = (args: string[]) => {
      const ppm = runTool('dcraw', [...args, '-h', '-c', cr2]);
      const body = ppm.subarray(ppm.length - lin.width * lin.height * 3);
      let s = 0;
      for (const b of body) s += b;
      return s / body.length;
    };
    const [bright, dark] = [mean8(['-w']), mean8(['-w', '-W'])];
    console.log(`[exposure] IMG_5952.CR2: dcraw white bin ${white} (gain ${(8192 / white).toFixed(4)}), ours ${(HISTOGRAM_BINS / ours).toFixed(0)} (gain ${ours.toFixed(4)}); mean 8-bit level dcraw -w ${bright.toFixed(1)}, dcraw -w -W ${dark.toFixed(1)}`);
    expect(bright / dark).toBeGreaterThan(2);
  });
});
