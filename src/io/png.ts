// PNG encode/decode with the platform's zlib (CompressionStream / DecompressionStream 'deflate', which
// is the zlib format PNG's IDAT uses, Adler-32 included). Works in Node >= 18 and in browsers.
// Encoding: 8-bit (tagged sRGB) or 16-bit gray/RGB/RGBA. Decoding: non-interlaced 8-bit gray, gray+alpha,
// RGB, RGBA and palette images, plus 16-bit (for round trips of what we write).

import { FormatError } from './bytes.js';

export interface PngImage {
  width: number;
  height: number;
  /** 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA (palette images decode to 3). */
  channels: 1 | 2 | 3 | 4;
  bitDepth: 8 | 16;
  /** Row-major, channels interleaved; Uint8Array at 8 bits, Uint16Array at 16. */
  data: Uint8Array | Uint16Array;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const COLOR_TYPE_OF_CHANNELS: Record<number, number> = { 1: 0, 2: 4, 3: 2, 4: 6 };
const CHANNELS_OF_COLOR_TYPE: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
/** Decoded pixel data beyond this is refused (a small file can inflate to gigabytes). */
const MAX_DECODED_BYTES = 1 << 30;

let crcTable: Uint32Array | undefined;
export function crc32(bytes: Uint8Array, crc = 0): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** Pushes `input` through a (de)compression stream, refusing output beyond `limit` bytes. */
async function pipe(input: Uint8Array, stream: CompressionStream | DecompressionStream, limit = Infinity): Promise<Uint8Array> {
  const writer = stream.writable.getWriter();
  // Not awaited: the writes complete only as the reader drains, and errors surface on read.
  writer.write(input as Uint8Array<ArrayBuffer>).catch(() => undefined);
  writer.close().catch(() => undefined);
  const reader = stream.readable.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw new RangeError(`decompressed data exceeds the expected ${limit} bytes`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  dv.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
  return out;
}

/** Encodes an image; 8-bit images are tagged sRGB, 16-bit ones carry no colour chunk (e.g. linear data). */
export async function encodePng(img: PngImage): Promise<Uint8Array> {
  const { width, height, channels, bitDepth, data } = img;
  const bpp = channels * (bitDepth / 8);
  const rowBytes = width * bpp;
  if (data.length !== width * height * channels) throw new RangeError(`encodePng: ${data.length} samples for ${width}x${height}x${channels}`);
  const raw = new Uint8Array(height * rowBytes);
  if (bitDepth === 16) {
    for (let i = 0; i < data.length; i++) {
      raw[2 * i] = data[i]! >> 8;
      raw[2 * i + 1] = data[i]! & 0xff;
    }
  } else {
    raw.set(data);
  }
  // Each row gets the filter whose output has the smallest sum of |signed byte|: the usual heuristic.
  const filtered = new Uint8Array(height * (rowBytes + 1));
  const candidate = new Uint8Array(rowBytes);
  for (let y = 0; y < height; y++) {
    const row = raw.subarray(y * rowBytes, (y + 1) * rowBytes);
    const prev = y > 0 ? raw.subarray((y - 1) * rowBytes, y * rowBytes) : undefined;
    let best = Infinity;
    for (let f = 0; f < 5; f++) {
      let cost = 0;
      for (let i = 0; i < rowBytes; i++) {
        const a = i >= bpp ? row[i - bpp]! : 0;
        const b = prev ? prev[i]! : 0;
        const c = prev && i >= bpp ? prev[i - bpp]! : 0;
        const v = (row[i]! - predict(f, a, b, c)) & 0xff;
        candidate[i] = v;
        cost += v < 128 ? v : 256 - v;
      }
      if (cost < best) {
        best = cost;
        filtered[y * (rowBytes + 1)] = f;
        filtered.set(candidate, y * (rowBytes + 1) + 1);
      }
    }
  }
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr.set([bitDepth, COLOR_TYPE_OF_CHANNELS[channels]!, 0, 0, 0], 8);
  const parts = [Uint8Array.from(SIGNATURE), chunk('IHDR', ihdr)];
  if (bitDepth === 8) parts.push(chunk('sRGB', Uint8Array.of(0)));
  parts.push(chunk('IDAT', await pipe(filtered, new CompressionStream('deflate'))), chunk('IEND', new Uint8Array(0)));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function predict(filter: number, a: number, b: number, c: number): number {
  switch (filter) {
    case 0:
      return 0;
    case 1:
      return a;
    case 2:
      return b;
    case 3:
      return (a + b) >> 1;
    default: {
      const p = a + b - c;
      const pa = Math.abs(p - a);
      const pb = Math.abs(p - b);
      const pc = Math.abs(p - c);
      return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
  }
}

export async function decodePng(bytes: Uint8Array, name = 'PNG'): Promise<PngImage> {
  const fail = (problem: string): FormatError => new FormatError(name, problem);
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) throw fail('not a PNG file (bad signature)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let header: { width: number; height: number; depth: number; colorType: number } | undefined;
  let palette: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  for (let at = 8; ; ) {
    if (at + 12 > bytes.length) throw fail('file ends before the IEND chunk');
    const len = dv.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (len > bytes.length - at - 12) throw fail(`chunk ${type} at offset ${at} runs past the end of the file`);
    const body = bytes.subarray(at + 8, at + 8 + len);
    if (crc32(bytes.subarray(at + 4, at + 8 + len)) !== dv.getUint32(at + 8 + len)) throw fail(`chunk ${type} at offset ${at} has a bad CRC`);
    at += 12 + len;
    if (type === 'IHDR') {
      if (len !== 13) throw fail('IHDR chunk has the wrong length');
      const b = new DataView(body.buffer, body.byteOffset, 13);
      header = { width: b.getUint32(0), height: b.getUint32(4), depth: body[8]!, colorType: body[9]! };
      if (body[12] !== 0) throw fail('interlaced PNGs are not supported');
    } else if (type === 'PLTE') {
      palette = body;
    } else if (type === 'IDAT') {
      idat.push(body);
    } else if (type === 'IEND') {
      break;
    }
  }
  if (!header) throw fail('no IHDR chunk');
  const { width, height, depth, colorType } = header;
  const inChannels = CHANNELS_OF_COLOR_TYPE[colorType];
  if (!inChannels || !(depth === 8 || (depth === 16 && colorType !== 3))) throw fail(`colour type ${colorType} at ${depth} bits is not supported`);
  if (width === 0 || height === 0) throw fail(`image is ${width}x${height}`);
  const bpp = inChannels * (depth / 8);
  const rowBytes = width * bpp;
  const expected = height * (rowBytes + 1);
  if (expected > MAX_DECODED_BYTES) throw fail(`${width}x${height} image is too large`);
  const joined = new Uint8Array(idat.reduce((n, c) => n + c.length, 0));
  idat.reduce((at, c) => (joined.set(c, at), at + c.length), 0);
  let inflated: Uint8Array;
  try {
    inflated = await pipe(joined, new DecompressionStream('deflate'), expected);
  } catch (e) {
    throw fail(`image data does not inflate: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (inflated.length !== expected) throw fail(`image data is ${inflated.length} bytes, expected ${expected}`);

  const pix = new Uint8Array(height * rowBytes);
  for (let y = 0; y < height; y++) {
    const f = inflated[y * (rowBytes + 1)]!;
    if (f > 4) throw fail(`row ${y} has unknown filter type ${f}`);
    const src = y * (rowBytes + 1) + 1;
    const o = y * rowBytes;
    for (let i = 0; i < rowBytes; i++) {
      const a = i >= bpp ? pix[o + i - bpp]! : 0;
      const b = y > 0 ? pix[o - rowBytes + i]! : 0;
      const c = y > 0 && i >= bpp ? pix[o - rowBytes + i - bpp]! : 0;
      pix[o + i] = (inflated[src + i]! + predict(f, a, b, c)) & 0xff;
    }
  }
  if (colorType === 3) {
    if (!palette || palette.length % 3 !== 0) throw fail('palette image without a valid PLTE chunk');
    const rgb = new Uint8Array(width * height * 3);
    for (let i = 0; i < pix.length; i++) {
      if (pix[i]! * 3 >= palette.length) throw fail(`palette index ${pix[i]} is out of range`);
      rgb.set(palette.subarray(pix[i]! * 3, pix[i]! * 3 + 3), i * 3);
    }
    return { width, height, channels: 3, bitDepth: 8, data: rgb };
  }
  const channels = inChannels as 1 | 2 | 3 | 4;
  if (depth === 8) return { width, height, channels, bitDepth: 8, data: pix };
  const data = new Uint16Array(pix.length / 2);
  for (let i = 0; i < data.length; i++) data[i] = (pix[2 * i]! << 8) | pix[2 * i + 1]!;
  return { width, height, channels, bitDepth: 16, data };
}
