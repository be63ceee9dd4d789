// The decoded contents of a camera RAW file: the Bayer mosaic of the active sensor area plus the
// metadata needed to turn it into a picture (levels, white balance, colour matrix, orientation).

import { BAYER_PATTERNS, type BayerPattern } from './bayer-pattern.js';

export type NonBayerSensor = 'X-Trans' | 'monochrome' | 'Foveon' | 'linear RGB' | 'other CFA';

/** Colours of the 2×2 tile at the active area's top-left, read row by row (the project's BayerPattern). */
export type CfaPattern = BayerPattern;

export type Matrix3 = [[number, number, number], [number, number, number], [number, number, number]];

export interface RawImage {
  make: string;
  model: string;
  /** Active area size; the mosaic has exactly width*height samples. */
  width: number;
  height: number;
  /**
   * Active area, row-major, raw sensor values (black level not subtracted). A 'linear RGB' sensor (LinearRaw
   * DNG) holds three interleaved samples per pixel, so width*height*3 values.
   */
  mosaic: Uint16Array;
  cfaPattern: CfaPattern;
  /** Black level per 2×2 position in pattern order: (0,0), (0,1), (1,0), (1,1) (linear RGB: R, G, G, B). */
  blackLevel: [number, number, number, number];
  whiteLevel: number;
  /** As-shot white-balance multipliers [r, g, b] with g = 1 (dcraw's "camera multipliers"). */
  asShotWB: [number, number, number];
  /** Camera RGB → linear sRGB, as dcraw builds it (rows of its inverse sum to 1). */
  cam2rgb: Matrix3;
  /** The XYZ → camera matrix cam2rgb was derived from, when the file or our table had one. */
  xyz2cam?: Matrix3;
  /** Bits per raw sample as stored (e.g. 12 or 14), not the range of the values. */
  bitDepth: number;
  /** EXIF orientation 1..8 (1 = as stored). */
  orientation: number;
  iso?: number;
  /** The file's format as sniffed from its bytes ('raw': another camera format, read through LibRaw). */
  format: 'dng' | 'cr2' | 'raw';
  /** Which decoder produced this: our own readers, or LibRaw (openRaw's fallback). Absent: ours. */
  reader?: 'rddm' | 'libraw';
  /**
   * The sensor's colour layout when it is not a 2×2 RGB Bayer mosaic (absent: Bayer, described by cfaPattern).
   * Such images open for `info` and `decode`; restoration needs a Bayer mosaic and refuses them.
   */
  sensor?: NonBayerSensor;
  /** DNG DefaultCrop: the part of the active area meant to be shown, relative to its top-left. */
  defaultCrop?: { left: number; top: number; width: number; height: number };
  /** Non-fatal problems, e.g. a camera without a known colour matrix. */
  warnings: string[];
}

/** The pattern whose four colours (0/1/2, row by row) are `colors`, or null if it is not a Bayer tile. */
export function cfaPatternFromColors(colors: readonly number[]): CfaPattern | null {
  const s = colors.map((c) => 'RGB'[c] ?? '?').join('');
  return (BAYER_PATTERNS as readonly string[]).includes(s) ? (s as CfaPattern) : null;
}

/** Copies the w×h rectangle at (left, top) out of a row-major plane `planeWidth` samples wide. */
export function cropPlane(plane: Uint16Array, planeWidth: number, left: number, top: number, w: number, h: number): Uint16Array {
  const out = new Uint16Array(w * h);
  for (let y = 0; y < h; y++) {
    const from = (top + y) * planeWidth + left;
    out.set(plane.subarray(from, from + w), y * w);
  }
  return out;
}
