import { describe, expect, it } from 'vitest';
import { decodeLosslessJpeg } from '../../src/raw/ljpeg.js';
import { RawFormatError } from '../../src/raw/errors.js';
import { encodeLosslessJpeg } from '../helpers/ljpeg-encoder.js';
import { firstMismatch, seededInts, syntheticMosaic } from '../helpers/test-raw.js';

describe('lossless JPEG decoder', () => {
  it.each([1, 2, 3, 4, 5, 6, 7])('round-trips predictor %i exactly (1–4 components, odd sizes)', (psv) => {
    for (const [w, h, nc, bits] of [
      [1, 1, 1, 8],
      [7, 3, 1, 12],
      [33, 17, 2, 14],
      [5, 9, 3, 16],
      [13, 4, 4, 10],
    ] as const) {
      const samples = syntheticMosaic(w * nc, h, bits, psv * 100 + w);
      const jpeg = encodeLosslessJpeg(samples, w, h, nc, { precision: bits, predictor: psv });
      const img = decodeLosslessJpeg(jpeg, 'test.jpg');
      expect([img.width, img.height, img.components, img.precision, img.predictor]).toEqual([w, h, nc, bits, psv]);
      expect(img.data).toEqual(samples);
    }
  });

  it('handles 16-bit extremes (difference category 16) and byte stuffing', () => {
    const w = 64;
    const samples = new Uint16Array(w * 4);
    for (let i = 0; i < samples.length; i++) samples[i] = i % 2 ? 0xffff : 0; // alternating: |diff| = 65535 ≡ -1, and 32768 jumps
    samples[5] = 0x8000;
    samples[6] = 0;
    const img = decodeLosslessJpeg(encodeLosslessJpeg(samples, w, 4, 1, { precision: 16 }), 'x');
    expect(img.data).toEqual(samples);
  });

  it('resets prediction at restart markers', () => {
    const samples = syntheticMosaic(20 * 2, 11, 12, 5);
    for (const psv of [1, 4, 7]) {
      const jpeg = encodeLosslessJpeg(samples, 20, 11, 2, { precision: 12, predictor: psv, restartRows: 3 });
      expect(decodeLosslessJpeg(jpeg, 'x').data).toEqual(samples);
    }
  });

  it('reports truncation, bad markers and impossible sizes as RawFormatError', () => {
    const samples = syntheticMosaic(40, 30, 12, 9);
    const jpeg = encodeLosslessJpeg(samples, 40, 30, 1, { precision: 12 });
    expect(() => decodeLosslessJpeg(jpeg.subarray(0, jpeg.length >> 1), 'cut.jpg')).toThrow(/cut\.jpg: lossless JPEG: data ends in row/);
    expect(() => decodeLosslessJpeg(Uint8Array.of(0xff, 0xd8, 0xff, 0xc0, 0, 4, 0, 0), 'b.jpg')).toThrow(/SOF0; only lossless SOF3/);
    expect(() => decodeLosslessJpeg(new Uint8Array(10), 'z.jpg')).toThrow(RawFormatError);
    const huge = Uint8Array.from(jpeg);
    const sof = huge.findIndex((b, i) => b === 0xff && huge[i + 1] === 0xc3);
    huge.set([0xff, 0xff, 0xff, 0xff], sof + 5); // height, width = 65535
    expect(() => decodeLosslessJpeg(huge, 'h.jpg')).toThrow(/needs more data than/);
  });

  it('decodes a 12-bit 2-component 3596x2360 frame (CR2-sized) in well under 1.5 s of CPU', () => {
    const w = 1798;
    const h = 2360;
    const rand = seededInts(3);
    const samples = new Uint16Array(w * 2 * h);
    for (let i = 0; i < samples.length; i++) samples[i] = 300 + rand(200) + ((i / 1000) % 1500);
    const jpeg = encodeLosslessJpeg(samples, w, h, 2, { precision: 12 });
    decodeLosslessJpeg(jpeg, 'warm-up');
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const img = decodeLosslessJpeg(jpeg, 'big');
    const cpu = process.cpuUsage(c0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    console.log(`[ljpeg] ${(samples.length / 1e6).toFixed(1)} Msamples: ${cpuMs.toFixed(0)} ms CPU, ${(performance.now() - t0).toFixed(0)} ms wall`);
    expect(firstMismatch(img.data, samples)).toBe(-1);
    // CPU time, not wall time: the test machine is shared and often oversubscribed.
    expect(cpuMs).toBeLessThan(1500);
  });
});
