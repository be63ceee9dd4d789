// Writes a mosaic as an uncompressed 16-bit CFA DNG (version 1.4) that dcraw, libraw and Adobe tools
// read: one IFD holding both the image and the camera metadata.

import { encodeTiff, type TiffTag } from '../io/tiff-writer.js';
import { xyz2camFromCam2rgb } from './color-matrix.js';
import type { RawImage } from './raw-image.js';
import { BAYER_PATTERNS, isBayerPattern } from './bayer-pattern.js';

export type DngSource = Pick<RawImage, 'width' | 'height' | 'mosaic' | 'cfaPattern' | 'blackLevel' | 'whiteLevel' | 'asShotWB' | 'cam2rgb'> &
  Partial<Pick<RawImage, 'make' | 'model' | 'orientation' | 'iso' | 'xyz2cam'>>;

const CFA_CODE: Record<string, number> = { R: 0, G: 1, B: 2 };
const D65 = 21;

/** Printable ASCII only: TIFF ASCII is 7-bit, and a NUL or control character would not read back. */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const MAX_NAME = 1000;

/**
 * Refuses what would not read back as written: every check names the field. A file this writer produces reads
 * back equal (pixels exactly, levels, white balance and colour matrix to ~1e-9), which test/raw/dng-roundtrip-fuzz
 * checks on random images and metadata.
 */
function validate(raw: DngSource): void {
  const fail = (problem: string): never => {
    throw new RangeError(`writeDng: ${problem}`);
  };
  const { width, height, mosaic } = raw;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) fail(`image size ${width}x${height} is not valid`);
  if (mosaic.length !== width * height) fail(`mosaic has ${mosaic.length} samples for ${width}x${height}`);
  if (!isBayerPattern(raw.cfaPattern)) fail(`cfaPattern ${JSON.stringify(raw.cfaPattern)} is not one of ${BAYER_PATTERNS.join(', ')}`);
  if (raw.blackLevel.length !== 4 || !raw.blackLevel.every((b) => Number.isFinite(b) && b >= 0 && b <= 0xffffffff)) {
    fail(`blackLevel [${raw.blackLevel.join(', ')}] must be four finite numbers in 0..4294967295`);
  }
  if (!Number.isInteger(raw.whiteLevel) || raw.whiteLevel < 1 || raw.whiteLevel > 0xffffffff) fail(`whiteLevel ${raw.whiteLevel} must be an integer in 1..4294967295`);
  // AsShotNeutral stores 1/m as an unsigned rational: multipliers far outside this range lose their digits.
  if (raw.asShotWB.length !== 3 || !raw.asShotWB.every((m) => Number.isFinite(m) && m >= 1e-6 && m <= 1e6)) {
    fail(`asShotWB [${raw.asShotWB.join(', ')}] must be three multipliers in 1e-6..1e6`);
  }
  const o = raw.orientation;
  if (o !== undefined && !(Number.isInteger(o) && o >= 1 && o <= 8)) fail(`orientation ${o} is not an EXIF orientation 1..8`);
  if (raw.iso !== undefined && !(Number.isInteger(raw.iso) && raw.iso >= 1 && raw.iso <= 65535)) fail(`iso ${raw.iso} must be an integer in 1..65535 (EXIF ISOSpeedRatings is 16-bit)`);
  for (const [field, v] of [['make', raw.make], ['model', raw.model]] as const) {
    if (v !== undefined && (!PRINTABLE_ASCII.test(v) || v.length > MAX_NAME)) fail(`${field} ${JSON.stringify(v.slice(0, 40))} must be printable ASCII of at most ${MAX_NAME} characters`);
  }
  if (!raw.cam2rgb.flat().every(Number.isFinite)) fail(`cam2rgb [${raw.cam2rgb.flat().join(', ')}] holds a value that is not finite`);
}

export function writeDng(raw: DngSource): Uint8Array {
  validate(raw);
  const { width, height, mosaic } = raw;
  const xyz2cam = raw.xyz2cam ?? xyz2camFromCam2rgb(raw.cam2rgb);
  if (!xyz2cam) throw new RangeError('writeDng: cam2rgb is singular, no ColorMatrix1 can be derived from it');
  if (!xyz2cam.flat().every((v) => Number.isFinite(v) && Math.abs(v) < 2 ** 31)) {
    throw new RangeError(`writeDng: colour matrix [${xyz2cam.flat().join(', ')}] does not fit DNG's signed rationals`);
  }

  const data = new Uint8Array(mosaic.length * 2);
  const dv = new DataView(data.buffer);
  for (let i = 0; i < mosaic.length; i++) dv.setUint16(2 * i, mosaic[i]!, true);

  // Readers trim names (dcraw does), so the file holds them trimmed.
  const make = raw.make?.trim() || 'Unknown';
  const model = raw.model?.trim() || 'Unknown';
  const integralBlack = raw.blackLevel.every((b) => Number.isInteger(b) && b >= 0 && b <= 0xffffffff);
  const tags: TiffTag[] = [
    { tag: 254, type: 'long', values: [0] },
    { tag: 256, type: 'long', values: [width] },
    { tag: 257, type: 'long', values: [height] },
    { tag: 258, type: 'short', values: [16] },
    { tag: 259, type: 'short', values: [1] },
    { tag: 262, type: 'short', values: [32803] },
    { tag: 271, type: 'ascii', values: make },
    { tag: 272, type: 'ascii', values: model },
    { tag: 274, type: 'short', values: [raw.orientation ?? 1] },
    { tag: 277, type: 'short', values: [1] },
    { tag: 278, type: 'long', values: [height] },
    { tag: 284, type: 'short', values: [1] },
    { tag: 33421, type: 'short', values: [2, 2] },
    { tag: 33422, type: 'byte', values: [...raw.cfaPattern].map((c) => CFA_CODE[c]!) },
    { tag: 50706, type: 'byte', values: [1, 4, 0, 0] },
    { tag: 50707, type: 'byte', values: [1, 1, 0, 0] },
    { tag: 50708, type: 'ascii', values: `${make} ${model}` },
    { tag: 50713, type: 'short', values: [2, 2] },
    { tag: 50714, type: integralBlack ? 'long' : 'rational', values: raw.blackLevel },
    { tag: 50717, type: 'long', values: [Math.round(raw.whiteLevel)] },
    { tag: 50721, type: 'srational', values: xyz2cam.flat() },
    { tag: 50728, type: 'rational', values: raw.asShotWB.map((m) => 1 / m) },
    { tag: 50778, type: 'short', values: [D65] },
  ];
  if (raw.iso !== undefined) tags.push({ tag: 34855, type: 'short', values: [raw.iso] });
  return encodeTiff(tags, data);
}
