// The bounds-checked IFD parser (both byte orders, loops, limits), the TIFF writer, and the 8-bit
// RGB TIFF reader (uncompressed, predictor 2, LZW; the Kodak photos when available).

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encodeTiff, encodeTiff16Rgb, toRational } from '../../src/io/tiff-writer.js';
import { RawFormatError } from '../../src/raw/errors.js';
import { TiffFile } from '../../src/raw/tiff-ifd.js';
import { lzwDecode, readTiffRgb8 } from '../../src/raw/tiff-rgb-reader.js';
import { seededInts, testDataPath } from '../helpers/test-raw.js';

/** A big-endian TIFF: IFD 0 at 8 with ImageWidth=300, BitsPerSample=[8,8,8] (out of line), XResolution=72/1. */
function bigEndianTiff(nextIfd = 0): Uint8Array {
  const b = new Uint8Array(8 + 2 + 3 * 12 + 4 + 6 + 8);
  const dv = new DataView(b.buffer);
  b.set([0x4d, 0x4d, 0, 42]);
  dv.setUint32(4, 8);
  dv.setUint16(8, 3);
  const entry = (i: number, tag: number, type: number, count: number, value: number, short = false): void => {
    const at = 10 + i * 12;
    dv.setUint16(at, tag);
    dv.setUint16(at + 2, type);
    dv.setUint32(at + 4, count);
    if (short) dv.setUint16(at + 8, value);
    else dv.setUint32(at + 8, value);
  };
  const extra = 10 + 36 + 4;
  entry(0, 256, 3, 1, 300, true);
  entry(1, 258, 3, 3, extra);
  entry(2, 282, 5, 1, extra + 6);
  dv.setUint32(10 + 36, nextIfd);
  [8, 8, 8].forEach((v, i) => dv.setUint16(extra + 2 * i, v));
  dv.setUint32(extra + 6, 72);
  dv.setUint32(extra + 10, 1);
  return b;
}

describe('TIFF IFD parser', () => {
  it('reads big-endian files, inline and out-of-line values, rationals', () => {
    const t = new TiffFile(bigEndianTiff(), 'be.tif');
    const ifd = t.readIfd(t.firstIfd, 'IFD 0');
    expect(t.number(ifd, 256)).toBe(300);
    expect(t.numbers(ifd, 258)).toEqual([8, 8, 8]);
    expect(t.number(ifd, 282)).toBe(72);
    expect(t.number(ifd, 999, 5)).toBe(5);
    expect(() => t.number(ifd, 999)).toThrow('be.tif: IFD 0 has no tag 0x03e7');
    expect(() => t.numbers(ifd, 258, 2)).toThrow('be.tif: IFD 0: BitsPerSample has 3 values, more than the 2 allowed');
  });

  it('detects IFD loops and links out of the file', () => {
    const looped = new TiffFile(bigEndianTiff(8), 'loop.tif');
    expect(looped.readChain(8).length).toBe(1); // the link back to IFD 0 is not followed twice…
    expect(() => looped.readIfd(8, 'IFD 1')).toThrow('loop.tif: IFD 1 at offset 8 was already read: the IFD chain loops'); // …and re-reading fails
    const t = new TiffFile(bigEndianTiff(), 'short.tif');
    expect(() => t.readIfd(123456, 'IFD 3')).toThrow('short.tif: IFD 3 at offset 123456 points past the end of the file (size 64)');
    expect(() => new TiffFile(Uint8Array.of(0x4d, 0x4d, 0, 43, 0, 0, 0, 8), 'big.tif')).toThrow(/magic number is 43, not 42/);
  });

  it('writes rationals exactly where a simple fraction exists', () => {
    expect(toRational(2 / 3, false)).toEqual([2, 3]);
    expect(toRational(0.6257, true)).toEqual([6257, 10000]);
    expect(toRational(-0.0303, true)).toEqual([-303, 10000]);
    expect(toRational(4095, false)).toEqual([4095, 1]);
    const [p, q] = toRational(Math.PI, false);
    expect(Math.abs(p / q - Math.PI) / Math.PI).toBeLessThan(1e-11);
  });

  it('encodeTiff16Rgb writes a TIFF our parser reads back', () => {
    const rgb = Uint16Array.from({ length: 5 * 3 * 3 }, (_, i) => i * 1000);
    const t = new TiffFile(encodeTiff16Rgb(5, 3, rgb), 'lin.tif');
    const ifd = t.readIfd(t.firstIfd, 'IFD 0');
    expect([t.number(ifd, 256), t.number(ifd, 257), t.numbers(ifd, 258), t.number(ifd, 262)]).toEqual([5, 3, [16, 16, 16], 2]);
    const data = t.r.slice(t.number(ifd, 273), t.number(ifd, 279));
    expect(new Uint16Array(data.slice().buffer)).toEqual(rgb);
  });
});

describe('8-bit RGB TIFF reader', () => {
  const base = (w: number, h: number, extra: Parameters<typeof encodeTiff>[0]) => [
    { tag: 256, type: 'long' as const, values: [w] },
    { tag: 257, type: 'long' as const, values: [h] },
    { tag: 258, type: 'short' as const, values: [8, 8, 8] },
    { tag: 262, type: 'short' as const, values: [2] },
    { tag: 277, type: 'short' as const, values: [3] },
    ...extra,
  ];

  it('reads uncompressed and horizontally differenced images', () => {
    const rand = seededInts(2);
    const w = 9;
    const h = 4;
    const px = Uint8Array.from({ length: w * h * 3 }, () => rand(256));
    expect(readTiffRgb8(encodeTiff(base(w, h, []), px), 'a.tif').data).toEqual(px);
    const diff = Uint8Array.from(px, (v, i) => (i % (w * 3) < 3 ? v : (v - px[i - 3]!) & 0xff));
    expect(readTiffRgb8(encodeTiff(base(w, h, [{ tag: 317, type: 'short', values: [2] }]), diff), 'p.tif').data).toEqual(px);
  });

  it('decodes TIFF LZW, including codes defined by the string being decoded (KwKwK)', () => {
    // 9-bit codes: Clear, 'A', 'B', 258 ("AB"), 260 (KwKwK: "ABA"), EOI → "ABABABA".
    const codes = [256, 65, 66, 258, 260, 257];
    const bits = codes.map((c) => c.toString(2).padStart(9, '0')).join('').padEnd(56, '0');
    const bytes = Uint8Array.from({ length: 7 }, (_, i) => parseInt(bits.slice(8 * i, 8 * i + 8), 2));
    expect(String.fromCharCode(...lzwDecode(bytes, 100))).toBe('ABABABA');
    expect(lzwDecode(bytes, 3).length).toBe(3); // output is capped
  });

  it.each([
    ['kodim02-lzw.tif', '9f2e820a'],
    ['kodim07-lzw.tif', 'e8021389'],
  ])('decodes the Kodak photo %s (LZW + predictor 2) to its known pixels', (file, hash) => {
    const path = testDataPath(file);
    const img = readTiffRgb8(new Uint8Array(readFileSync(path)), file);
    expect([img.width, img.height, img.channels]).toEqual([768, 512, 3]);
    let h = 0x811c9dc5; // FNV-1a of the pixels, pinned after checking the picture by eye
    for (const b of img.data) h = Math.imul(h ^ b, 0x01000193) >>> 0;
    expect(h.toString(16)).toBe(hash);
  });

  it('rejects unsupported variants with a RawFormatError naming the file', () => {
    const px = new Uint8Array(2 * 2 * 3);
    expect(() => readTiffRgb8(encodeTiff(base(2, 2, [{ tag: 259, type: 'short', values: [7] }]), px), 'j.tif')).toThrow('j.tif: compression 7 is not supported');
    expect(() => readTiffRgb8(encodeTiff(base(2, 2, [{ tag: 284, type: 'short', values: [2] }]), px), 'pl.tif')).toThrow(RawFormatError);
  });
});
