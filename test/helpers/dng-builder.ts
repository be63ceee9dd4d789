// DNGs in layouts our writer does not produce (tiles, strips, lossless JPEG, packed bits, ActiveArea,
// BlackLevel repeats), built from a full sample plane for reader tests.

import { encodeTiff, TIFF_DATA_OFFSET, type TiffTag } from '../../src/io/tiff-writer.js';
import { builtinColor } from '../../src/raw/camera-table.js';
import { encodeLosslessJpeg } from './ljpeg-encoder.js';

export interface Layout {
  tile?: [number, number];
  rowsPerStrip?: number;
  compression: 1 | 7;
  bits: number;
  /** Lossless JPEG components per tile row (a tile w wide becomes a w/n × n-component frame). */
  components?: number;
  /** [top, left, bottom, right] */
  activeArea?: [number, number, number, number];
  black?: { dim: [number, number]; values: number[] };
}

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

/** A GRBG DNG ("Test Cam", EOS 30D colour matrix, AsShotNeutral 0.5/1/0.8) holding the w×h `plane`. */
export function buildDng(plane: Uint16Array, w: number, h: number, lay: Layout): Uint8Array {
  const [tw, th] = lay.tile ?? [w, lay.rowsPerStrip ?? h];
  const nc = lay.components ?? 1;
  const chunks: Uint8Array[] = [];
  for (let y0 = 0; y0 < h; y0 += th) {
    for (let x0 = 0; x0 < w; x0 += tw) {
      // Tiles are always full size (padded by repeating the edge); a strip's last one is short.
      const rows = lay.tile ? th : Math.min(th, h - y0);
      const t = new Uint16Array(tw * rows);
      for (let y = 0; y < rows; y++) for (let x = 0; x < tw; x++) t[y * tw + x] = plane[Math.min(y0 + y, h - 1) * w + Math.min(x0 + x, w - 1)]!;
      chunks.push(lay.compression === 7 ? encodeLosslessJpeg(t, tw / nc, rows, nc, { precision: lay.bits }) : lay.bits === 16 ? new Uint8Array(t.buffer) : pack(t, tw, lay.bits));
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
  const tags: TiffTag[] = [
    { tag: 254, type: 'long', values: [0] },
    { tag: 256, type: 'long', values: [w] },
    { tag: 257, type: 'long', values: [h] },
    { tag: 258, type: 'short', values: [lay.bits] },
    { tag: 259, type: 'short', values: [lay.compression] },
    { tag: 262, type: 'short', values: [32803] },
    { tag: 271, type: 'ascii', values: 'Test' },
    { tag: 272, type: 'ascii', values: 'Cam' },
    { tag: 277, type: 'short', values: [1] },
    { tag: 33421, type: 'short', values: [2, 2] },
    { tag: 33422, type: 'byte', values: [1, 0, 2, 1] }, // GRBG
    { tag: 50706, type: 'byte', values: [1, 4, 0, 0] },
    { tag: 50717, type: 'long', values: [(1 << lay.bits) - 1] },
    { tag: 50721, type: 'srational', values: builtinColor('Canon', 'EOS 30D')!.xyz2cam.flat() },
    { tag: 50728, type: 'rational', values: [0.5, 1, 0.8] },
  ];
  if (lay.tile) {
    tags.push({ tag: 322, type: 'long', values: [tw] }, { tag: 323, type: 'long', values: [th] });
    tags.push({ tag: 324, type: 'long', values: offsets }, { tag: 325, type: 'long', values: chunks.map((c) => c.length) });
  } else {
    tags.push({ tag: 278, type: 'long', values: [th] });
    tags.push({ tag: 273, type: 'long', values: offsets }, { tag: 279, type: 'long', values: chunks.map((c) => c.length) });
  }
  if (lay.activeArea) tags.push({ tag: 50829, type: 'long', values: lay.activeArea });
  if (lay.black) tags.push({ tag: 50713, type: 'short', values: lay.black.dim }, { tag: 50714, type: 'rational', values: lay.black.values });
  return encodeTiff(tags, data);
}
