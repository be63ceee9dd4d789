// Baseline 8-bit TIFF photos (gray, RGB, RGBA; chunky; strips; uncompressed or LZW, with or without
// horizontal differencing), e.g. the Kodak test images used as training/evaluation photos. It shares
// the bounds-checked IFD parser with the RAW readers.

import { TiffFile } from './tiff-ifd.js';

export interface RgbTiffImage {
  width: number;
  height: number;
  channels: 1 | 3 | 4;
  data: Uint8Array;
}

const MAX_PIXELS = 1 << 28;

export function readTiffRgb8(bytes: Uint8Array, name: string): RgbTiffImage {
  const tiff = new TiffFile(bytes, name);
  const ifd = tiff.readIfd(tiff.firstIfd, 'IFD 0');
  const width = tiff.number(ifd, 256);
  const height = tiff.number(ifd, 257);
  const spp = tiff.number(ifd, 277, 1);
  const bits = tiff.has(ifd, 258) ? tiff.numbers(ifd, 258, 8) : [1];
  const compression = tiff.number(ifd, 259, 1);
  const predictor = tiff.number(ifd, 317, 1);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width * height > MAX_PIXELS) {
    throw tiff.error(`image size ${width}x${height} is not plausible`);
  }
  if (spp !== 1 && spp !== 3 && spp !== 4) throw tiff.error(`${spp} samples per pixel; only 1, 3 or 4 are supported`);
  if (bits.some((b) => b !== 8)) throw tiff.error(`${bits.join('/')} bits per sample; only 8-bit TIFFs are supported`);
  if (tiff.number(ifd, 284, 1) !== 1) throw tiff.error('planar (separate-plane) TIFFs are not supported');
  if (tiff.has(ifd, 322)) throw tiff.error('tiled TIFFs are not supported');
  if (compression !== 1 && compression !== 5) throw tiff.error(`compression ${compression} is not supported (only none and LZW)`);
  if (predictor !== 1 && predictor !== 2) throw tiff.error(`predictor ${predictor} is not supported`);

  const rowBytes = width * spp;
  const rowsPerStrip = Math.min(tiff.number(ifd, 278, height), height);
  if (!Number.isInteger(rowsPerStrip) || rowsPerStrip < 1) throw tiff.error(`RowsPerStrip ${rowsPerStrip} is not valid`);
  const strips = Math.ceil(height / rowsPerStrip);
  const offsets = tiff.counts(ifd, 273, 1 << 20);
  const lengths = tiff.counts(ifd, 279, 1 << 20);
  if (offsets.length < strips || lengths.length < strips) throw tiff.error(`${offsets.length} strips for ${strips} needed`);
  // Every strip is checked before the image is allocated: a 200-byte file declaring 16000x16000 pixels must
  // not cost 768 MB first.
  const sources: Uint8Array[] = [];
  for (let s = 0; s < strips; s++) {
    const want = Math.min(rowsPerStrip, height - s * rowsPerStrip) * rowBytes;
    const src = tiff.r.slice(offsets[s]!, lengths[s]!, `strip ${s}`);
    const most = compression === 5 ? lzwMaxOutput(src.length) : src.length;
    if (want > most) throw tiff.error(`strip ${s} has ${src.length} bytes, too few for the ${want} bytes of ${width}x${height} pixels it should hold`);
    sources.push(src);
  }
  const data = new Uint8Array(rowBytes * height);
  for (let s = 0; s < strips; s++) {
    const rows = Math.min(rowsPerStrip, height - s * rowsPerStrip);
    const want = rows * rowBytes;
    const src = sources[s]!;
    const strip = compression === 5 ? lzwDecode(src, want) : src.subarray(0, want);
    if (strip.length < want) throw tiff.error(`strip ${s} holds ${strip.length} bytes, needs ${want}`);
    data.set(strip.subarray(0, want), s * rowsPerStrip * rowBytes);
  }
  if (predictor === 2) {
    for (let y = 0; y < height; y++) {
      for (let i = y * rowBytes + spp; i < (y + 1) * rowBytes; i++) data[i] = (data[i]! + data[i - spp]!) & 0xff;
    }
  }
  return { width, height, channels: spp as 1 | 3 | 4, data };
}

/**
 * Most bytes `n` bytes of LZW can decode to: codes are at least 9 bits, and the k-th code after a clear names a
 * string of at most k bytes (each table entry is one byte longer than an earlier one), never more than 4096.
 */
export function lzwMaxOutput(n: number): number {
  const codes = Math.floor((n * 8) / 9);
  const ramp = Math.min(codes, 4096);
  return (ramp * (ramp + 1)) / 2 + (codes - ramp) * 4096;
}

/**
 * TIFF's LZW (MSB-first codes, 9–12 bits, code width grows one code early). Output stops at `limit`
 * bytes, so a corrupt stream cannot grow without bound; a short result is left for the caller to report.
 */
export function lzwDecode(src: Uint8Array, limit: number): Uint8Array {
  const out = new Uint8Array(limit);
  const prefix = new Int32Array(4096);
  const suffix = new Uint8Array(4096);
  const first = new Uint8Array(4096);
  const length = new Int32Array(4096);
  for (let i = 0; i < 256; i++) {
    suffix[i] = i;
    first[i] = i;
    length[i] = 1;
  }
  let n = 0;
  let next = 258;
  let width = 9;
  let prev = -1;
  let bitPos = 0;
  const totalBits = src.length * 8;
  while (bitPos + width <= totalBits && n < limit) {
    let code = 0;
    for (let k = 0; k < width; k++, bitPos++) code = (code << 1) | ((src[bitPos >> 3]! >> (7 - (bitPos & 7))) & 1);
    if (code === 257) break;
    if (code === 256) {
      next = 258;
      width = 9;
      prev = -1;
      continue;
    }
    if (code > next || (code === next && prev < 0)) break; // corrupt: a code not yet defined
    if (prev >= 0 && next < 4096) {
      prefix[next] = prev;
      first[next] = first[prev]!;
      suffix[next] = code === next ? first[prev]! : first[code]!;
      length[next] = length[prev]! + 1;
      next++;
    }
    // Write the string for `code` backwards from its end.
    const len = length[code]!;
    const end = Math.min(n + len, limit);
    for (let c = code, k = n + len - 1; k >= n; k--, c = prefix[c]!) if (k < end) out[k] = suffix[c]!;
    n = end;
    prev = code;
    if (next + 1 >= 1 << width && width < 12) width++;
  }
  return out.subarray(0, n);
}
