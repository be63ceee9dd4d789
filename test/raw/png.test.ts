// PNG encode/decode round trips, checked independently with node:zlib (inflate, CRC-32), plus a real
// libpng-written file and hand-made palette/corrupt files.

import { readFileSync } from 'node:fs';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../../src/io/bytes.js';
import { crc32, decodePng, encodePng, type PngImage } from '../../src/io/png.js';
import { firstMismatch, seededInts, testDataPath } from '../helpers/test-raw.js';

function image(w: number, h: number, channels: PngImage['channels'], bitDepth: 8 | 16, seed: number): PngImage {
  const rand = seededInts(seed);
  const n = w * h * channels;
  const max = bitDepth === 8 ? 255 : 65535;
  const data = bitDepth === 8 ? new Uint8Array(n) : new Uint16Array(n);
  // Half smooth gradient (exercises Sub/Up/Paeth), half noise (exercises None).
  for (let i = 0; i < n; i++) data[i] = i < n / 2 ? Math.round(((i % (w * channels)) / (w * channels)) * max) : rand(max + 1);
  return { width: w, height: h, channels, bitDepth, data };
}

/** Chunks of a PNG, for independent checks. */
function chunks(png: Uint8Array): { type: string; body: Uint8Array; crc: number }[] {
  const out = [];
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  for (let at = 8; at < png.length; ) {
    const len = dv.getUint32(at);
    out.push({ type: String.fromCharCode(...png.subarray(at + 4, at + 8)), body: png.subarray(at + 8, at + 8 + len), crc: dv.getUint32(at + 8 + len) });
    at += 12 + len;
  }
  return out;
}

function chunk(type: string, body: Uint8Array): Uint8Array {
  const head = new Uint8Array(8 + body.length);
  new DataView(head.buffer).setUint32(0, body.length);
  head.set([...type].map((c) => c.charCodeAt(0)), 4);
  head.set(body, 8);
  const crc = new Uint8Array(4);
  new DataView(crc.buffer).setUint32(0, zlib.crc32(head.subarray(4)));
  return Buffer.concat([head, crc]);
}

describe('PNG', () => {
  it('round-trips 8- and 16-bit gray, gray+alpha, RGB and RGBA of odd sizes', async () => {
    for (const [w, h] of [[1, 1], [17, 5], [64, 33]]) {
      for (const ch of [1, 2, 3, 4] as const) {
        for (const bd of [8, 16] as const) {
          const img = image(w!, h!, ch, bd, w! * 10 + ch + bd);
          const back = await decodePng(await encodePng(img));
          expect([back.width, back.height, back.channels, back.bitDepth]).toEqual([w, h, ch, bd]);
          expect(back.data).toEqual(img.data);
        }
      }
    }
  });

  it('writes chunks that node:zlib agrees with (CRC-32, zlib stream with Adler-32, sRGB tag)', async () => {
    const img = image(40, 30, 3, 8, 7);
    const png = await encodePng(img);
    const cs = chunks(png);
    expect(cs.map((c) => c.type)).toEqual(['IHDR', 'sRGB', 'IDAT', 'IEND']);
    for (const c of cs) {
      const typed = Buffer.concat([Buffer.from(c.type, 'latin1'), c.body]);
      expect(c.crc).toBe(zlib.crc32(typed));
      expect(crc32(typed)).toBe(c.crc);
    }
    const raw = zlib.inflateSync(cs[2]!.body); // throws on a bad Adler-32
    expect(raw.length).toBe(30 * (40 * 3 + 1));
    const types = new Set(Array.from({ length: 30 }, (_, y) => raw[y * 121]));
    expect(types.size).toBeGreaterThan(1); // the filter heuristic really picks per row
  });

  it('decodes palette images and rejects corrupt ones with a FormatError', async () => {
    const ihdr = new Uint8Array(13);
    new DataView(ihdr.buffer).setUint32(0, 3);
    new DataView(ihdr.buffer).setUint32(4, 2);
    ihdr.set([8, 3, 0, 0, 0], 8);
    const plte = Uint8Array.of(255, 0, 0, 0, 255, 0, 0, 0, 255);
    const idat = zlib.deflateSync(Uint8Array.of(0, 0, 1, 2, 1, 2, 254, 1)); // rows: [0,1,2] and Sub-filtered [2,0,1]
    const sig = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
    const png = Buffer.concat([sig, chunk('IHDR', ihdr), chunk('PLTE', plte), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))]);
    const img = await decodePng(png, 'pal.png');
    expect(img.channels).toBe(3);
    expect(Array.from(img.data)).toEqual([255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 255, 255, 0, 0, 0, 255, 0]);

    const flipped = Uint8Array.from(png);
    flipped[flipped.length - 20] ^= 1;
    await expect(decodePng(flipped, 'bad.png')).rejects.toThrow(/bad\.png: chunk IDAT at offset \d+ has a bad CRC/);
    const garbage = Buffer.concat([sig, chunk('IHDR', ihdr), chunk('PLTE', plte), chunk('IDAT', Uint8Array.of(1, 2, 3)), chunk('IEND', new Uint8Array(0))]);
    await expect(decodePng(garbage, 'z.png')).rejects.toThrow(FormatError);
    await expect(decodePng(png.subarray(0, 40), 'cut.png')).rejects.toThrow(/cut\.png: (chunk .* runs past the end|file ends before the IEND chunk)/);
    await expect(decodePng(new Uint8Array(3), 'x.png')).rejects.toThrow('x.png: not a PNG file');
  });

  it('decodes a libpng-written photo and re-encodes it losslessly', async () => {
    const real = testDataPath('IMG_5952.png');
    const img = await decodePng(new Uint8Array(readFileSync(real)), 'IMG_5952.png');
    expect([img.width, img.height, img.channels, img.bitDepth]).toEqual([352, 234, 3, 8]);
    let sum = 0;
    for (const v of img.data) sum += v;
    const mean = sum / img.data.length;
    expect(mean).toBeGreaterThan(10);
    expect(mean).toBeLessThan(245);
    const again = await decodePng(await encodePng(img));
    expect(firstMismatch(again.data, img.data)).toBe(-1);
  });
});
