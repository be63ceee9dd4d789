// DNG: the CFA image is IFD 0 or one of its SubIFDs (PhotometricInterpretation 32803); camera metadata
// (make, colour matrices, as-shot neutral, orientation) lives in IFD 0. Patterns and black levels are
// relative to the ActiveArea's top-left, which is also what dcraw assumes.

import { cam2rgbOrIdentity } from './color-matrix.js';
import { RawFormatError } from './errors.js';
import { readDngPlane } from './dng-image-data.js';
import { cfaPatternFromColors, cropPlane, type Matrix3, type RawImage } from './raw-image.js';
import { TiffFile, type Ifd } from './tiff-ifd.js';

const T = {
  newSubFileType: 254,
  make: 271,
  model: 272,
  orientation: 274,
  subIfds: 330,
  cfaRepeatDim: 33421,
  cfaPattern: 33422,
  exifIfd: 34665,
  iso: 34855,
  dngVersion: 50706,
  uniqueCameraModel: 50708,
  cfaPlaneColor: 50710,
  linearization: 50712,
  blackRepeatDim: 50713,
  blackLevel: 50714,
  blackDeltaH: 50715,
  blackDeltaV: 50716,
  whiteLevel: 50717,
  colorMatrix1: 50721,
  colorMatrix2: 50722,
  asShotNeutral: 50728,
  illuminant1: 50778,
  illuminant2: 50779,
  activeArea: 50829,
} as const;

const CFA = 32803;
const D65 = 21;

/** True when the TIFF's IFD 0 carries DNGVersion. */
export function isDng(tiff: TiffFile, ifd0: Ifd): boolean {
  return tiff.has(ifd0, T.dngVersion);
}

export function readDng(bytes: Uint8Array, name: string): RawImage {
  const tiff = new TiffFile(bytes, name);
  const ifd0 = tiff.readIfd(tiff.firstIfd, 'IFD 0');
  if (!isDng(tiff, ifd0)) throw tiff.error('IFD 0 has no DNGVersion tag: not a DNG file');
  const warnings: string[] = [];
  const raw = findCfaIfd(tiff, ifd0);
  const plane = readDngPlane(tiff, raw);

  // ActiveArea is [top, left, bottom, right].
  const [top = 0, left = 0, bottom = plane.height, right = plane.width] = tiff.has(raw, T.activeArea) ? tiff.counts(raw, T.activeArea, 4) : [];
  if (!(top < bottom && left < right && bottom <= plane.height && right <= plane.width)) {
    throw tiff.error(`${raw.label}: ActiveArea [${top}, ${left}, ${bottom}, ${right}] does not fit the ${plane.width}x${plane.height} image`);
  }
  const width = right - left;
  const height = bottom - top;

  const repeat = tiff.has(raw, T.cfaRepeatDim) ? tiff.counts(raw, T.cfaRepeatDim, 2) : [2, 2];
  if (repeat[0] !== 2 || repeat[1] !== 2) throw tiff.error(`${raw.label}: CFA repeat ${repeat.join('x')} is not a 2x2 Bayer tile`);
  const planeColors = tiff.has(raw, T.cfaPlaneColor) ? tiff.numbers(raw, T.cfaPlaneColor, 4) : [0, 1, 2];
  const codes = tiff.numbers(raw, T.cfaPattern, 4);
  const cfaPattern = cfaPatternFromColors(codes.map((c) => planeColors[c] ?? -1));
  if (!cfaPattern) throw tiff.error(`${raw.label}: CFAPattern [${codes.join(', ')}] is not a Bayer pattern`);

  const mosaic = cropPlane(plane.data, plane.width, left, top, width, height);
  if (tiff.has(raw, T.linearization)) {
    const table = Uint16Array.from(tiff.numbers(raw, T.linearization, 65536), (v) => Math.min(65535, Math.max(0, Math.round(v))));
    if (table.length > 0) for (let i = 0; i < mosaic.length; i++) mosaic[i] = table[Math.min(mosaic[i]!, table.length - 1)]!;
  }
  if (tiff.has(raw, T.blackDeltaH) || tiff.has(raw, T.blackDeltaV)) warnings.push('BlackLevelDeltaH/V are ignored');

  const make = tiff.string(ifd0, T.make) ?? '';
  let model = tiff.string(ifd0, T.model) ?? tiff.string(ifd0, T.uniqueCameraModel) ?? '';
  if (make && model.startsWith(make + ' ')) model = model.slice(make.length + 1);
  let orientation = tiff.number(ifd0, T.orientation, 1);
  if (!Number.isInteger(orientation) || orientation < 1 || orientation > 8) {
    warnings.push(`orientation ${orientation} is not 1..8: using 1`);
    orientation = 1;
  }
  const xyz2cam = colorMatrix(tiff, ifd0, warnings);
  const iso = readIso(tiff, ifd0, raw);
  const white = tiff.number(raw, T.whiteLevel, (1 << plane.bitDepth) - 1);
  return {
    make,
    model,
    width,
    height,
    mosaic,
    cfaPattern,
    blackLevel: blackLevels(tiff, raw, warnings),
    whiteLevel: white,
    asShotWB: asShotWB(tiff, ifd0, warnings),
    cam2rgb: cam2rgbOrIdentity(xyz2cam, `${make} ${model}`.trim(), warnings),
    ...(xyz2cam ? { xyz2cam } : {}),
    bitDepth: plane.bitDepth,
    orientation,
    ...(iso !== undefined ? { iso } : {}),
    format: 'dng',
    warnings,
  };
}

/** IFD 0 if it is the full-size CFA image, else the first such SubIFD (depth-first, bounded). */
function findCfaIfd(tiff: TiffFile, ifd0: Ifd): Ifd {
  const isMain = (ifd: Ifd): boolean => tiff.number(ifd, 262, 0) === CFA && tiff.number(ifd, T.newSubFileType, 0) === 0;
  if (isMain(ifd0)) return ifd0;
  const stack: Ifd[] = [ifd0];
  let found: Ifd | undefined;
  while (stack.length > 0 && !found) {
    const ifd = stack.shift()!;
    if (!tiff.has(ifd, T.subIfds)) continue;
    for (const [k, offset] of tiff.counts(ifd, T.subIfds, 32).entries()) {
      const sub = tiff.readIfd(offset, `${ifd.label} SubIFD ${k}`);
      if (isMain(sub)) {
        found = sub;
        break;
      }
      stack.push(sub);
    }
  }
  if (!found) throw tiff.error('no full-size CFA image (PhotometricInterpretation 32803) in IFD 0 or its SubIFDs; linear DNGs are not supported');
  return found;
}

/** Black per 2×2 position, averaging a larger repeat pattern's entries of the same CFA phase. */
function blackLevels(tiff: TiffFile, raw: Ifd, warnings: string[]): [number, number, number, number] {
  if (!tiff.has(raw, T.blackLevel)) return [0, 0, 0, 0];
  const [rows = 1, cols = 1] = tiff.has(raw, T.blackRepeatDim) ? tiff.counts(raw, T.blackRepeatDim, 2) : [];
  if (rows < 1 || cols < 1 || rows > 16 || cols > 16) throw tiff.error(`${raw.label}: BlackLevelRepeatDim ${rows}x${cols} is not plausible`);
  const v = tiff.numbers(raw, T.blackLevel, 256);
  if (v.length < rows * cols) throw tiff.error(`${raw.label}: BlackLevel has ${v.length} values for a ${rows}x${cols} repeat`);
  if (!v.every(Number.isFinite)) throw tiff.error(`${raw.label}: BlackLevel holds a value that is not a finite number`);
  const out: number[] = [];
  for (let k = 0; k < 4; k++) {
    const seen: number[] = [];
    for (let y = k >> 1; y < 2 * rows; y += 2) for (let x = k & 1; x < 2 * cols; x += 2) seen.push(v[(y % rows) * cols + (x % cols)]!);
    out.push(seen.reduce((a, b) => a + b, 0) / seen.length);
    if (seen.some((s) => s !== seen[0])) warnings.push(`black levels of CFA position ${k} differ (${seen.join(', ')}); using their mean`);
  }
  return out as [number, number, number, number];
}

function asShotWB(tiff: TiffFile, ifd0: Ifd, warnings: string[]): [number, number, number] {
  const n = tiff.has(ifd0, T.asShotNeutral) ? tiff.numbers(ifd0, T.asShotNeutral, 4) : [];
  if (n.length === 3 && n.every((x) => x > 0 && Number.isFinite(x))) return [n[1]! / n[0]!, 1, n[1]! / n[2]!];
  warnings.push('no usable AsShotNeutral: white balance set to [1, 1, 1]');
  return [1, 1, 1];
}

/** The XYZ → camera matrix for D65 when there is one, else ColorMatrix2, else ColorMatrix1. */
function colorMatrix(tiff: TiffFile, ifd0: Ifd, warnings: string[]): Matrix3 | undefined {
  const candidates = [
    { tag: T.colorMatrix2, illuminant: tiff.number(ifd0, T.illuminant2, 0) },
    { tag: T.colorMatrix1, illuminant: tiff.number(ifd0, T.illuminant1, 0) },
  ].filter((c) => tiff.has(ifd0, c.tag));
  const pick = candidates.find((c) => c.illuminant === D65) ?? candidates[0];
  if (!pick) return undefined;
  const v = tiff.numbers(ifd0, pick.tag, 12);
  if (v.length !== 9 || !v.every(Number.isFinite)) {
    warnings.push(`colour matrix has ${v.length} entries; only 3-colour cameras are supported`);
    return undefined;
  }
  return [v.slice(0, 3), v.slice(3, 6), v.slice(6, 9)] as Matrix3;
}

function readIso(tiff: TiffFile, ifd0: Ifd, raw: Ifd): number | undefined {
  for (const ifd of [raw, ifd0]) if (tiff.has(ifd, T.iso)) return tiff.number(ifd, T.iso);
  if (!tiff.has(ifd0, T.exifIfd)) return undefined;
  try {
    const exif = tiff.readIfd(tiff.number(ifd0, T.exifIfd), 'EXIF IFD');
    return tiff.has(exif, T.iso) ? tiff.number(exif, T.iso) : undefined;
  } catch (e) {
    if (e instanceof RawFormatError) return undefined; // a damaged EXIF block only costs us the ISO
    throw e;
  }
}
