// The sample plane of a DNG raw IFD: a CFA image (one sample per pixel) or a LinearRaw RGB one (three,
// interleaved). Strips or tiles, uncompressed (8/16-bit or MSB-first packed 1..16-bit integers; 16/24/32-bit
// floats), lossless JPEG (compression 7), Deflate (8, and the older 32946) with the DNG predictors, or lossy
// JPEG (34892: 8-bit baseline JPEG tiles, LinearRaw only). A strip is treated as a tile as wide as the image.
// Floating-point planes become 16-bit integers as LibRaw makes them (dng-predictor.ts, floatsToU16); `scale`
// says by how much.

import { FormatError } from '../io/bytes.js';
import { inflateZlib, InflateError } from '../io/inflate.js';
import { decodeJpeg } from '../io/jpeg.js';
import { decodeLosslessJpeg } from './ljpeg.js';
import { dngFloat, floatsToU16, predictorKind, undoFloatRow, undoHorizontal } from './dng-predictor.js';
import { RawUnsupportedError } from './errors.js';
import type { Ifd, TiffFile } from './tiff-ifd.js';

export interface DngPlane {
  width: number;
  height: number;
  bitDepth: number;
  /** Samples per pixel (1: CFA, 3: LinearRaw RGB); `data` holds width*height*samples, interleaved. */
  samples: number;
  data: Uint16Array;
  /** Lossy JPEG (compression 34892): 8-bit samples that the reader maps to 16-bit linear values. */
  lossy?: boolean;
  /** Float planes only: what samples (and so black and white levels) were multiplied by. */
  floatScale?: number;
}

export interface DngPlaneOptions {
  /** DNG 1.0 files: lossless-JPEG category 16 carries 16 bits (as dcraw reads them). */
  category16ReadsBits?: boolean;
  /** Samples per pixel the caller expects (1 for CFA, 3 for LinearRaw RGB). */
  samples?: number;
}

/** Largest plane we accept (4× today's biggest sensors); protects against corrupt sizes. */
const MAX_SAMPLES = 1 << 28;
const MAX_TILES = 1 << 16;
/** Deflate can expand 1032:1 at most; a tile claiming more than that per compressed byte is corrupt. */
const MAX_DEFLATE_RATIO = 1032;
/**
 * Samples per byte of file we accept for a Deflate plane (a 512:1 ratio for 16-bit data). Sensor noise keeps
 * real files near 2–4:1; only a constant synthetic plane compresses further, and this bounds what a forged
 * header can make us allocate.
 */
const MAX_DEFLATE_SAMPLES_PER_BYTE = 256;

const COMPRESSION_NAMES: Record<number, string> = { 1: 'none', 7: 'lossless JPEG', 8: 'Deflate', 32946: 'Deflate', 34892: 'lossy JPEG', 52546: 'JPEG XL' };

export function readDngPlane(tiff: TiffFile, ifd: Ifd, opts: DngPlaneOptions = {}): DngPlane {
  const where = ifd.label;
  const width = tiff.number(ifd, 256);
  const height = tiff.number(ifd, 257);
  const bitDepth = tiff.number(ifd, 258, 1);
  const compression = tiff.number(ifd, 259, 1);
  const spp = tiff.number(ifd, 277, 1);
  const isFloat = tiff.number(ifd, 339, 1) === 3;
  const predictor = tiff.number(ifd, 317, 1);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width * height > MAX_SAMPLES) {
    throw tiff.error(`${where}: image size ${width}x${height} is not plausible`);
  }
  const want = opts.samples ?? 1;
  if (spp !== want) throw tiff.error(`${where}: ${spp} samples per pixel; ${want === 1 ? 'a CFA image has 1' : `expected ${want}`}`);
  const deflate = compression === 8 || compression === 32946;
  const lossy = compression === 34892 && spp === 3;
  if (compression !== 1 && compression !== 7 && !deflate && !lossy) {
    const name = COMPRESSION_NAMES[compression];
    throw new RawUnsupportedError(tiff.name, `${where}: compression ${compression}${name ? ` (${name})` : ''} is not supported for ${spp === 1 ? 'CFA' : 'LinearRaw'} data (none, lossless JPEG, Deflate${spp === 3 ? ' and lossy JPEG' : ''} are)`);
  }
  if (lossy && bitDepth !== 8) throw tiff.error(`${where}: lossy JPEG with ${bitDepth} bits per sample (DNG's lossy JPEG is 8-bit)`);
  if (isFloat) {
    if (compression === 7) throw tiff.error(`${where}: floating-point samples cannot be lossless-JPEG compressed`);
    if (bitDepth !== 16 && bitDepth !== 24 && bitDepth !== 32) throw tiff.error(`${where}: ${bitDepth}-bit floating point is not a DNG sample format (16, 24 or 32)`);
  } else if (!Number.isInteger(bitDepth) || bitDepth < 1 || bitDepth > 16) {
    throw tiff.error(`${where}: ${bitDepth} bits per sample is not supported (1..16)`);
  }
  if (deflate && !isFloat && bitDepth !== 8 && bitDepth !== 16) throw tiff.error(`${where}: Deflate with ${bitDepth}-bit integers is not supported (8 or 16)`);
  const pred = deflate && predictor !== 1 ? predictorKind(predictor) : null;
  if (deflate && predictor !== 1 && (!pred || pred.float !== isFloat)) {
    throw tiff.error(`${where}: predictor ${predictor} does not apply to ${isFloat ? 'floating-point' : 'integer'} samples`);
  }
  // Every sample costs at least one bit of file (Deflate: see MAX_DEFLATE_SAMPLES_PER_BYTE), so a larger plane is a corrupt header.
  const perByte = deflate || lossy ? MAX_DEFLATE_SAMPLES_PER_BYTE : 8;
  if (width * height * spp > tiff.r.size * perByte) throw tiff.error(`${where}: ${width}x${height} samples cannot fit in a ${tiff.r.size}-byte file`);

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

  const data = new Uint16Array(isFloat ? 0 : width * height * spp);
  const floats = new Float32Array(isFloat ? width * height * spp : 0);
  for (let t = 0; t < across * down; t++) {
    const x0 = (t % across) * tileW;
    const y0 = Math.floor(t / across) * tileH;
    const what = `${where}: ${tiled ? 'tile' : 'strip'} ${t}`;
    const bytes = tiff.r.slice(offsets[t]!, lengths[t]!, what);
    // Rows of a tile that lie inside the image; a strip's last one is shorter. Tiles are stored whole.
    const rows = Math.min(tileH, height - y0);
    const cols = Math.min(tileW, width - x0);
    const stored = tiled ? tileH : rows;
    // Within a tile everything counts in samples: a row holds tileW pixels of spp samples each.
    const ctx: TileContext = { tiff, what, tileW: tileW * spp, rows, stored, bitDepth, pred: pred && { ...pred, stride: pred.stride * spp }, opts };
    const tile = lossy
      ? lossyTile(bytes, ctx, tileW, cols)
      : compression === 7
        ? ljpegTile(bytes, ctx)
        : deflate
          ? deflateTile(bytes, ctx, isFloat)
          : isFloat
            ? floatTile(bytes, ctx)
            : unpack(tiff, bytes, tileW * spp, rows, bitDepth, what);
    const rowLen = tileW * spp;
    if (tile.length < (rows - 1) * rowLen + cols * spp) throw tiff.error(`${what} holds ${tile.length} samples, too few for ${cols}x${rows}`);
    // Samples fill the tile row by row at the tile's width, whatever the JPEG frame's own shape.
    const dst = isFloat ? floats : data;
    for (let y = 0; y < rows; y++) dst.set(tile.subarray(y * rowLen, y * rowLen + cols * spp) as never, ((y0 + y) * width + x0) * spp);
  }
  if (!isFloat) return { width, height, bitDepth, samples: spp, data, ...(lossy ? { lossy } : {}) };
  const white = tiff.number(ifd, 50717, 1);
  const { data: ints, scale } = floatsToU16(floats, Number.isFinite(white) && white > 0 ? white : 1);
  return { width, height, bitDepth, samples: spp, data: ints, floatScale: scale };
}

/**
 * A lossy-DNG tile: an 8-bit baseline JPEG with three components (RGB or YCbCr, as its markers say), as
 * libjpeg decodes it for dcraw and LibRaw. Rows of the tile at the tile's width; only the part inside the image
 * need be in the JPEG (writers may crop edge tiles).
 */
function lossyTile(bytes: Uint8Array, c: TileContext, tileW: number, cols: number): Uint16Array {
  let img: ReturnType<typeof decodeJpeg>;
  try {
    img = decodeJpeg(bytes, c.tiff.name, { idct: 'islow' });
  } catch (e) {
    if (e instanceof FormatError) throw c.tiff.error(`${c.what} (lossy JPEG): ${e.problem}`);
    throw e;
  }
  if (img.channels !== 3) throw c.tiff.error(`${c.what} (lossy JPEG) has ${img.channels} component(s); LinearRaw RGB needs 3`);
  if (img.width < cols || img.height < c.rows) throw c.tiff.error(`${c.what} (lossy JPEG) is ${img.width}x${img.height}, smaller than the ${cols}x${c.rows} it must cover`);
  const out = new Uint16Array(tileW * 3 * c.rows);
  for (let y = 0; y < c.rows; y++) {
    const w = Math.min(img.width, tileW) * 3;
    out.set(img.data.subarray(y * img.width * 3, y * img.width * 3 + w), y * tileW * 3);
  }
  return out;
}

interface TileContext {
  tiff: TiffFile;
  what: string;
  tileW: number;
  /** Rows inside the image, and rows stored in the tile (a whole tile even at the image's edge). */
  rows: number;
  stored: number;
  bitDepth: number;
  pred: { float: boolean; stride: number } | null;
  opts: DngPlaneOptions;
}

function ljpegTile(bytes: Uint8Array, c: TileContext): Uint16Array {
  const img = decodeLosslessJpeg(bytes, c.tiff.name, `${c.what} (lossless JPEG)`, { maxSamples: c.tileW * c.stored, category16ReadsBits: c.opts.category16ReadsBits });
  return img.data;
}

function inflateTile(bytes: Uint8Array, c: TileContext, rowBytes: number): Uint8Array {
  let out: Uint8Array;
  try {
    // A tile's stream cannot inflate past 1032 times its length: never allocate more than that.
    out = inflateZlib(bytes, Math.min(rowBytes * c.stored, bytes.length * MAX_DEFLATE_RATIO));
  } catch (e) {
    if (e instanceof InflateError) throw c.tiff.error(`${c.what} (Deflate): ${e.message}`);
    throw e;
  }
  if (out.length < rowBytes * c.rows) throw c.tiff.error(`${c.what} (Deflate) inflates to ${out.length} bytes, needs ${rowBytes * c.rows}`);
  return out;
}

function deflateTile(bytes: Uint8Array, c: TileContext, isFloat: boolean): Uint16Array | Float32Array {
  const bps = c.bitDepth / 8;
  const rowBytes = c.tileW * bps;
  const raw = inflateTile(bytes, c, rowBytes);
  if (isFloat) return floatRows(raw, c, bps, c.pred?.stride ?? 0);
  const le = c.tiff.r.littleEndian;
  const out = bps === 1 ? Uint16Array.from(raw.subarray(0, c.tileW * c.rows)) : new Uint16Array(c.tileW * c.rows);
  if (bps === 2) for (let i = 0; i < out.length; i++) out[i] = le ? raw[2 * i]! | (raw[2 * i + 1]! << 8) : (raw[2 * i]! << 8) | raw[2 * i + 1]!;
  if (c.pred) {
    if (bps === 1) {
      // Differences of 8-bit samples wrap at 2^8.
      undoHorizontal(out, c.tileW, c.rows, c.pred.stride);
      for (let i = 0; i < out.length; i++) out[i]! &= 0xff;
    } else undoHorizontal(out, c.tileW, c.rows, c.pred.stride);
  }
  return out;
}

/** Uncompressed floating-point rows, in the file's byte order. */
function floatTile(bytes: Uint8Array, c: TileContext): Float32Array {
  const bps = c.bitDepth / 8;
  const rowBytes = c.tileW * bps;
  if (bytes.length < rowBytes * c.rows) throw c.tiff.error(`${c.what} has ${bytes.length} bytes, needs ${rowBytes * c.rows}`);
  return floatRows(bytes, c, bps, 0);
}

/** Rows of floats; `stride` > 0 undoes the floating-point predictor (planes are then big-endian by definition). */
function floatRows(raw: Uint8Array, c: TileContext, bps: number, stride: number): Float32Array {
  const out = new Float32Array(c.tileW * c.rows);
  const rowBytes = c.tileW * bps;
  const be = new Uint8Array(rowBytes);
  const le = c.tiff.r.littleEndian;
  for (let y = 0; y < c.rows; y++) {
    const row = raw.subarray(y * rowBytes, (y + 1) * rowBytes);
    if (stride > 0) undoFloatRow(row, c.tileW, bps, stride, be);
    else if (le) for (let i = 0; i < c.tileW; i++) for (let k = 0; k < bps; k++) be[i * bps + k] = row[i * bps + bps - 1 - k]!;
    else be.set(row);
    for (let i = 0; i < c.tileW; i++) out[y * c.tileW + i] = dngFloat(be, i * bps, bps);
  }
  return out;
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
