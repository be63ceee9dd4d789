// The sample plane of a DNG CFA IFD: strips or tiles, uncompressed (8/16-bit or MSB-first packed
// 1..16-bit) or lossless JPEG (compression 7). A strip is treated as a tile as wide as the image.

import { decodeLosslessJpeg } from './ljpeg.js';
import type { Ifd, TiffFile } from './tiff-ifd.js';

export interface DngPlane {
  width: number;
  height: number;
  bitDepth: number;
  data: Uint16Array;
}

/** Largest plane we accept (4× today's biggest sensors); protects against corrupt sizes. */
const MAX_SAMPLES = 1 << 28;
const MAX_TILES = 1 << 16;

export function readDngPlane(tiff: TiffFile, ifd: Ifd): DngPlane {
  const where = ifd.label;
  const width = tiff.number(ifd, 256);
  const height = tiff.number(ifd, 257);
  const bitDepth = tiff.number(ifd, 258, 1);
  const compression = tiff.number(ifd, 259, 1);
  const spp = tiff.number(ifd, 277, 1);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width * height > MAX_SAMPLES) {
    throw tiff.error(`${where}: image size ${width}x${height} is not plausible`);
  }
  if (spp !== 1) throw tiff.error(`${where}: ${spp} samples per pixel; a CFA image has 1`);
  if (!Number.isInteger(bitDepth) || bitDepth < 1 || bitDepth > 16) throw tiff.error(`${where}: ${bitDepth} bits per sample is not supported (1..16)`);
  if (compression !== 1 && compression !== 7) {
    throw tiff.error(`${where}: compression ${compression} is not supported (only 1 = none and 7 = lossless JPEG)`);
  }
  // Every sample costs at least one bit of file, so a plane larger than that is a corrupt header.
  if (width * height > tiff.r.size * 8) throw tiff.error(`${where}: ${width}x${height} samples cannot fit in a ${tiff.r.size}-byte file`);

  const tiled = tiff.has(ifd, 322);
  const tileW = tiled ? tiff.number(ifd, 322) : width;
  const tileH = tiled ? tiff.number(ifd, 323) : Math.min(tiff.number(ifd, 278, height), height);
  if (!Number.isInteger(tileW) || !Number.isInteger(tileH) || tileW < 1 || tileH < 1 || tileW * tileH > MAX_SAMPLES) {
    throw tiff.error(`${where}: tile/strip size ${tileW}x${tileH} is not plausible`);
  }
  const across = Math.ceil(width / tileW);
  const down = Math.ceil(height / tileH);
  if (across * down > MAX_TILES) throw tiff.error(`${where}: ${across * down} tiles/strips is more than we accept`);
  const offsets = tiff.counts(ifd, tiled ? 324 : 273, MAX_TILES);
  const lengths = tiff.counts(ifd, tiled ? 325 : 279, MAX_TILES);
  if (offsets.length < across * down || lengths.length < across * down) {
    throw tiff.error(`${where}: ${offsets.length} data offsets / ${lengths.length} byte counts for ${across * down} ${tiled ? 'tiles' : 'strips'}`);
  }

  const data = new Uint16Array(width * height);
  for (let t = 0; t < across * down; t++) {
    const x0 = (t % across) * tileW;
    const y0 = Math.floor(t / across) * tileH;
    const what = `${tiled ? 'tile' : 'strip'} ${t}`;
    const bytes = tiff.r.slice(offsets[t]!, lengths[t]!, `${where}: ${what}`);
    // Rows of a tile that lie inside the image; a strip's last one is shorter.
    const rows = Math.min(tileH, height - y0);
    const cols = Math.min(tileW, width - x0);
    const tile =
      compression === 7
        ? decodeLosslessJpeg(bytes, tiff.name, `${where}: ${what} (lossless JPEG)`, { maxSamples: tileW * tileH }).data
        : unpack(tiff, bytes, tiled ? tileW : width, rows, bitDepth, `${where}: ${what}`);
    if (tile.length < (rows - 1) * tileW + cols) throw tiff.error(`${where}: ${what} holds ${tile.length} samples, too few for ${cols}x${rows}`);
    // Samples fill the tile row by row at the tile's width, whatever the JPEG frame's own shape.
    for (let y = 0; y < rows; y++) data.set(tile.subarray(y * tileW, y * tileW + cols), (y0 + y) * width + x0);
  }
  return { width, height, bitDepth, data };
}

/** `rows` rows of `rowLen` samples; rows start on byte boundaries, bits are MSB first (TIFF FillOrder 1). */
function unpack(tiff: TiffFile, bytes: Uint8Array, rowLen: number, rows: number, bits: number, what: string): Uint16Array {
  const rowBytes = Math.ceil((rowLen * bits) / 8);
  if (bytes.length < rowBytes * rows) throw tiff.error(`${what} has ${bytes.length} bytes, needs ${rowBytes * rows}`);
  const out = new Uint16Array(rowLen * rows);
  if (bits === 16) {
    const le = tiff.r.littleEndian;
    for (let i = 0; i < out.length; i++) out[i] = le ? bytes[2 * i]! | (bytes[2 * i + 1]! << 8) : (bytes[2 * i]! << 8) | bytes[2 * i + 1]!;
    return out;
  }
  if (bits === 8) {
    out.set(bytes.subarray(0, out.length));
    return out;
  }
  const mask = (1 << bits) - 1;
  for (let y = 0; y < rows; y++) {
    let at = y * rowBytes;
    let buf = 0;
    let cnt = 0;
    for (let x = 0, o = y * rowLen; x < rowLen; x++, o++) {
      while (cnt < bits) {
        buf = ((buf << 8) | bytes[at++]!) & 0xffffff;
        cnt += 8;
      }
      out[o] = (buf >>> (cnt - bits)) & mask;
      cnt -= bits;
    }
  }
  return out;
}
