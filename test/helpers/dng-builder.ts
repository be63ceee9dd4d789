// DNGs in layouts our writer does not produce (tiles, strips, lossless JPEG, Deflate with the DNG predictors,
// floating point, packed bits, big-endian, ActiveArea, DefaultCrop, BlackLevel repeats and deltas, a
// linearization table, opcode lists, X-Trans and monochrome sensors), built from a full sample plane for
// reader tests and for cross-checks with dcraw and LibRaw.

import { execFileSync } from 'node:child_process';
import { deflateSync } from 'node:zlib';
import { encodeTiff, TIFF_DATA_OFFSET, type TiffTag } from '../../src/io/tiff-writer.js';
import { f32Bits, f32BitsToF16Bits } from '../../src/io/half.js';
import { builtinColor } from '../../src/raw/camera-table.js';
import { encodeLosslessJpeg } from './ljpeg-encoder.js';

export interface Layout {
  tile?: [number, number];
  rowsPerStrip?: number;
  compression: 1 | 7 | 8;
  bits: number;
  /** Lossless JPEG components per tile row (a tile w wide becomes a w/n × n-component frame). */
  components?: number;
  /** Lossless JPEG predictor (1..7), restart interval in rows, and the cinema-camera table (categories 0..17). */
  ljpeg?: { predictor?: number; restartRows?: number; wide?: boolean; category16Bits?: boolean };
  /** TIFF Predictor tag: 2 / 34892 / 34893 for integers, 3 / 34894 / 34895 for floats (Deflate only). */
  predictor?: number;
  /** SampleFormat 3: the plane passed to buildDng is a Float32Array; bits 16, 24 or 32. */
  float?: boolean;
  bigEndian?: boolean;
  /** [top, left, bottom, right] */
  activeArea?: [number, number, number, number];
  /** DefaultCropOrigin [x, y] and DefaultCropSize [w, h], relative to the active area. */
  defaultCrop?: [number, number, number, number];
  black?: { dim: [number, number]; values: number[] };
  blackDelta?: { h?: number[]; v?: number[] };
  linearization?: number[];
  whiteLevel?: number;
  dngVersion?: [number, number, number, number];
  /** A GainMap opcode in OpcodeList2. */
  gainMap?: boolean;
  /** Non-Bayer sensors: a 6x6 X-Trans CFA, a one-sample LinearRaw (monochrome) image, or LinearRaw RGB (3 samples). */
  sensor?: 'x-trans' | 'monochrome' | 'linear';
  /** Lossy DNG (compression 34892, needs sensor 'linear' and bits 8): baseline JPEG tiles from libjpeg's cjpeg. */
  lossy?: { quality?: number; mapPolynomial?: [number, number, number][] };
}

/** Fujifilm's X-Trans tile (0 = R, 1 = G, 2 = B), as X-Trans DNGs store it. */
export const XTRANS_6X6 = [1, 1, 0, 1, 1, 2, 1, 1, 2, 1, 1, 0, 2, 0, 1, 0, 2, 1, 1, 1, 2, 1, 1, 0, 1, 1, 0, 1, 1, 2, 0, 2, 1, 2, 0, 1];

/** Packs rows of samples MSB-first at `bits` bits, each row starting on a byte boundary. */
export function pack(samples: Uint16Array, rowLen: number, bits: number): Uint8Array {
  const rowBytes = Math.ceil((rowLen * bits) / 8);
  const rows = samples.length / rowLen;
  const out = new Uint8Array(rowBytes * rows);
  for (let y = 0; y < rows; y++) {
    let bit = y * rowBytes * 8;
    for (let x = 0; x < rowLen; x++) {
      for (let b = bits - 1; b >= 0; b--, bit++) if ((samples[y * rowLen + x]! >> b) & 1) out[bit >> 3]! |= 0x80 >> (bit & 7);
    }
  }
  return out;
}

/** Big-endian bytes of a 16-, 24- or 32-bit DNG float (24-bit: 1-7-16, bias 63; mantissa truncated). */
export function floatBytes(v: number, bytes: number): number[] {
  const b = f32Bits(v);
  if (bytes === 4) return [b >>> 24, (b >>> 16) & 255, (b >>> 8) & 255, b & 255];
  if (bytes === 2) {
    const h = f32BitsToF16Bits(b);
    return [h >> 8, h & 255];
  }
  if (v === 0) return [0, 0, 0];
  const sign = b >>> 31;
  const exp = ((b >>> 23) & 255) - 127 + 63;
  const mant = (b >>> 7) & 0xffff;
  if (exp <= 0 || exp >= 127) throw new RangeError(`floatBytes: ${v} does not fit a 24-bit float as a normal number`);
  return [(sign << 7) | exp, mant >> 8, mant & 255];
}

/** One tile or strip of samples (`rows` of `tw`) in the layout's compression. */
function encodeChunk(t: Uint16Array | Float32Array, tw: number, rows: number, lay: Layout): Uint8Array {
  const spp = lay.sensor === 'linear' ? 3 : 1;
  const nc = lay.components ?? spp;
  if (lay.lossy) {
    const header = new TextEncoder().encode(`P6\n${tw} ${rows}\n255\n`);
    const ppm = new Uint8Array(header.length + t.length);
    ppm.set(header);
    ppm.set(t, header.length);
    return new Uint8Array(execFileSync('cjpeg', ['-quality', String(lay.lossy.quality ?? 90), '-baseline'], { input: ppm }));
  }
  if (lay.compression === 7) return encodeLosslessJpeg(t as Uint16Array, (tw * spp) / nc, rows, nc, { precision: lay.bits, ...lay.ljpeg });
  tw *= spp; // below, a row is tw samples
  const bytes = lay.float ? lay.bits / 8 : lay.bits === 16 ? 2 : lay.bits === 8 ? 1 : 0;
  let out: Uint8Array;
  if (bytes === 0) out = pack(t as Uint16Array, tw, lay.bits);
  else {
    out = new Uint8Array(t.length * bytes);
    const xf = lay.predictor === 34894 ? 2 : lay.predictor === 34895 ? 4 : 1;
    for (let y = 0; y < rows; y++) {
      const rowBytes = tw * bytes;
      const row = new Uint8Array(rowBytes);
      for (let x = 0; x < tw; x++) {
        const v = t[y * tw + x]!;
        let be: number[];
        if (lay.float) be = floatBytes(v, bytes);
        else {
          // Integer horizontal differencing (2 / 34892 / 34893): each sample minus the one `stride` before.
          const stride = lay.predictor === 2 ? 1 : lay.predictor === 34892 ? 2 : lay.predictor === 34893 ? 4 : 0;
          const d = stride && x >= stride ? (v - t[y * tw + x - stride]!) & (bytes === 2 ? 0xffff : 0xff) : v;
          be = bytes === 2 ? [d >> 8, d & 255] : [d];
        }
        const fpPredicted = lay.float && lay.predictor !== undefined && lay.predictor !== 1;
        for (let k = 0; k < bytes; k++) {
          // Floating-point predictor: byte planes (most significant first) across the row; else file byte order.
          const at = fpPredicted ? k * tw + x : x * bytes + (lay.bigEndian || lay.float ? k : bytes - 1 - k);
          row[at] = be[lay.float && !fpPredicted && !lay.bigEndian ? bytes - 1 - k : k]!;
        }
      }
      if (lay.float && lay.predictor !== undefined && lay.predictor !== 1) for (let i = rowBytes - 1; i >= xf; i--) row[i] = (row[i]! - row[i - xf]!) & 255;
      out.set(row, y * rowBytes);
    }
  }
  return lay.compression === 8 ? deflateSync(out) : out;
}

/** One MapPolynomial opcode (ID 8) per colour plane, coefficients c0 + c1 x + c2 x², in an OpcodeList block. */
function mapPolynomialList(h: number, w: number, coeffs: [number, number, number][]): number[] {
  const b: number[] = [];
  const u32 = (v: number): void => void b.push(v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
  u32(coeffs.length);
  coeffs.forEach((c, plane) => {
    u32(8);
    u32(0x01030000);
    u32(0);
    u32(9 * 4 + 8 * c.length);
    [0, 0, h, w, plane, 1, 1, 1, c.length - 1].forEach(u32);
    for (const v of c) {
      const dv = new DataView(new ArrayBuffer(8));
      dv.setFloat64(0, v);
      for (let i = 0; i < 8; i++) b.push(dv.getUint8(i));
    }
  });
  return b;
}

/** The GainMap opcode (ID 9) over the whole image, a 2x2 grid of gains, in an OpcodeList block. */
function gainMapList(h: number, w: number): number[] {
  const b: number[] = [];
  const u32 = (v: number): void => void b.push(v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
  const f64 = (v: number): void => {
    const dv = new DataView(new ArrayBuffer(8));
    dv.setFloat64(0, v);
    for (let i = 0; i < 8; i++) b.push(dv.getUint8(i));
  };
  const params: (() => void)[] = [
    ...[0, 0, h, w, 0, 1, 1, 1, 2, 2].map((v) => () => u32(v)),
    ...[1, 1, 0, 0].map((v) => () => f64(v)),
    () => u32(1),
    ...[1.2, 1, 1, 1.2].map((v) => () => u32(f32Bits(v))),
  ];
  u32(1); // one opcode
  u32(9); // GainMap
  u32(0x01030000); // DNG 1.3
  u32(1); // optional
  u32(10 * 4 + 4 * 8 + 4 + 4 * 4);
  params.forEach((p) => p());
  return b;
}

/** A GRBG DNG ("Test Cam", EOS 30D colour matrix, AsShotNeutral 0.5/1/0.8) holding the w×h `plane`. */
export function buildDng(plane: Uint16Array | Float32Array, w: number, h: number, lay: Layout): Uint8Array {
  const [tw, th] = lay.tile ?? [w, lay.rowsPerStrip ?? h];
  const chunks: Uint8Array[] = [];
  for (let y0 = 0; y0 < h; y0 += th) {
    for (let x0 = 0; x0 < w; x0 += tw) {
      // Tiles are always full size (padded by repeating the edge); a strip's last one is short.
      const rows = lay.tile ? th : Math.min(th, h - y0);
      const spp = lay.sensor === 'linear' ? 3 : 1;
      const t = lay.float ? new Float32Array(tw * rows * spp) : new Uint16Array(tw * rows * spp);
      for (let y = 0; y < rows; y++) {
        for (let x = 0; x < tw; x++) for (let c = 0; c < spp; c++) t[(y * tw + x) * spp + c] = plane[(Math.min(y0 + y, h - 1) * w + Math.min(x0 + x, w - 1)) * spp + c]!;
      }
      chunks.push(encodeChunk(t, tw, rows, lay));
    }
  }
  const offsets: number[] = [];
  let at = TIFF_DATA_OFFSET;
  for (const c of chunks) {
    offsets.push(at);
    at += c.length;
  }
  const data = new Uint8Array(at - TIFF_DATA_OFFSET);
  chunks.forEach((c, i) => data.set(c, offsets[i]! - TIFF_DATA_OFFSET));
  const mono = lay.sensor === 'monochrome';
  const linear = lay.sensor === 'linear';
  const tags: TiffTag[] = [
    { tag: 254, type: 'long', values: [0] },
    { tag: 256, type: 'long', values: [w] },
    { tag: 257, type: 'long', values: [h] },
    { tag: 258, type: 'short', values: linear ? [lay.bits, lay.bits, lay.bits] : [lay.bits] },
    { tag: 259, type: 'short', values: [lay.lossy ? 34892 : lay.compression] },
    { tag: 262, type: 'short', values: [mono || linear ? 34892 : 32803] },
    { tag: 271, type: 'ascii', values: 'Test' },
    { tag: 272, type: 'ascii', values: 'Cam' },
    { tag: 277, type: 'short', values: [linear ? 3 : 1] },
    { tag: 50706, type: 'byte', values: lay.dngVersion ?? [1, 4, 0, 0] },
    { tag: 50717, type: lay.whiteLevel !== undefined && !Number.isInteger(lay.whiteLevel) ? 'rational' : 'long', values: [lay.whiteLevel ?? (lay.float ? 1 : (1 << lay.bits) - 1)] },
    { tag: 50721, type: 'srational', values: builtinColor('Canon', 'EOS 30D')!.xyz2cam.flat() },
    { tag: 50728, type: 'rational', values: [0.5, 1, 0.8] },
  ];
  if (lay.sensor === 'x-trans') tags.push({ tag: 33421, type: 'short', values: [6, 6] }, { tag: 33422, type: 'byte', values: XTRANS_6X6 });
  else if (!mono && !linear) tags.push({ tag: 33421, type: 'short', values: [2, 2] }, { tag: 33422, type: 'byte', values: [1, 0, 2, 1] }); // GRBG
  if (lay.float) tags.push({ tag: 339, type: 'short', values: [3] });
  if (lay.predictor !== undefined) tags.push({ tag: 317, type: 'short', values: [lay.predictor] });
  if (lay.tile) {
    tags.push({ tag: 322, type: 'long', values: [tw] }, { tag: 323, type: 'long', values: [th] });
    tags.push({ tag: 324, type: 'long', values: offsets }, { tag: 325, type: 'long', values: chunks.map((c) => c.length) });
  } else {
    tags.push({ tag: 278, type: 'long', values: [th] });
    tags.push({ tag: 273, type: 'long', values: offsets }, { tag: 279, type: 'long', values: chunks.map((c) => c.length) });
  }
  if (lay.activeArea) tags.push({ tag: 50829, type: 'long', values: lay.activeArea });
  if (lay.defaultCrop) {
    tags.push({ tag: 50719, type: 'long', values: lay.defaultCrop.slice(0, 2) }, { tag: 50720, type: 'long', values: lay.defaultCrop.slice(2) });
  }
  if (lay.black) tags.push({ tag: 50713, type: 'short', values: lay.black.dim }, { tag: 50714, type: 'rational', values: lay.black.values });
  if (lay.blackDelta?.h) tags.push({ tag: 50715, type: 'srational', values: lay.blackDelta.h });
  if (lay.blackDelta?.v) tags.push({ tag: 50716, type: 'srational', values: lay.blackDelta.v });
  if (lay.linearization) tags.push({ tag: 50712, type: 'short', values: lay.linearization });
  if (lay.gainMap) tags.push({ tag: 51009, type: 'undefined', values: gainMapList(h, w) });
  else if (lay.lossy?.mapPolynomial) tags.push({ tag: 51009, type: 'undefined', values: mapPolynomialList(h, w, lay.lossy.mapPolynomial) });
  return encodeTiff(tags, data, { bigEndian: lay.bigEndian });
}
