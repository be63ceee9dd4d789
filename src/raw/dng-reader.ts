// DNG: the raw image is IFD 0 or one of its SubIFDs: a CFA mosaic (PhotometricInterpretation 32803) or,
// failing one, LinearRaw RGB (34892, three samples per pixel: demosaiced or lossy DNGs, read for info and
// decode, not restored); camera metadata (make, colour matrices, as-shot neutral, orientation) lives in IFD 0. Patterns and black levels are
// relative to the ActiveArea's top-left, which is also what dcraw assumes.

import { cam2rgbOrIdentity } from './color-matrix.js';
import { RawFormatError, RawUnsupportedError } from './errors.js';
import { readDngPlane } from './dng-image-data.js';
import { lossyCurves } from './dng-lossy-curve.js';
import { opcodeWarnings, readOpcodes } from './dng-opcodes.js';
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
  defaultCropOrigin: 50719,
  defaultCropSize: 50720,
  activeArea: 50829,
} as const;

const CFA = 32803;
const LINEAR_RAW = 34892;
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
  const { ifd: raw, linear } = findRawIfd(tiff, ifd0);
  const unsupported = (problem: string): Error => new RawUnsupportedError(tiff.name, `${raw.label}: ${problem}`);
  let cfaPattern: RawImage['cfaPattern'] | null = 'RGGB'; // LinearRaw: a placeholder, `sensor` says what it is
  if (!linear) {
    const repeat = tiff.has(raw, T.cfaRepeatDim) ? tiff.counts(raw, T.cfaRepeatDim, 2) : [2, 2];
    if (repeat[0] !== 2 || repeat[1] !== 2) throw unsupported(`CFA repeat ${repeat.join('x')} is not a 2x2 Bayer tile`);
    const planeColors = tiff.has(raw, T.cfaPlaneColor) ? tiff.numbers(raw, T.cfaPlaneColor, 4) : [0, 1, 2];
    const codes = tiff.numbers(raw, T.cfaPattern, 4);
    cfaPattern = cfaPatternFromColors(codes.map((c) => planeColors[c] ?? -1));
    if (!cfaPattern) throw unsupported(`CFAPattern [${codes.join(', ')}] is not an RGB Bayer pattern`);
  }

  // DNG 1.0 files predate the rule that lossless-JPEG category 16 carries no extra bits (dcraw reads it so).
  const version = tiff.numbers(ifd0, T.dngVersion, 4);
  const spp = linear ? 3 : 1;
  const plane = readDngPlane(tiff, raw, { category16ReadsBits: (version[0] ?? 1) === 1 && (version[1] ?? 0) === 0, samples: spp });
  const { top, left, width, height } = activeArea(tiff, raw, plane.width, plane.height, warnings);

  const mosaic = cropPlane(plane.data, plane.width * spp, left * spp, top, width * spp, height);
  let lossyApplied = false;
  if (plane.lossy) {
    // 8-bit JPEG samples → 16-bit linear, per colour plane (dcraw and LibRaw ignore a LinearizationTable here).
    const { curves, applied } = lossyCurves(tiff, raw, warnings);
    lossyApplied = applied;
    for (let i = 0; i < mosaic.length; i++) mosaic[i] = curves[i % 3]![mosaic[i]!]!;
  } else if (tiff.has(raw, T.linearization)) {
    const table = Uint16Array.from(tiff.numbers(raw, T.linearization, 65536), (v) => Math.min(65535, Math.max(0, Math.round(v))));
    if (plane.floatScale !== undefined) warnings.push('LinearizationTable is ignored for floating-point samples');
    else if (table.length > 0) for (let i = 0; i < mosaic.length; i++) mosaic[i] = table[Math.min(mosaic[i]!, table.length - 1)]!;
  }
  // Lossy DNGs' MapPolynomial opcodes were applied above: only the others are named as left out.
  warnings.push(...opcodeWarnings(readOpcodes(tiff, raw).filter((o) => !(lossyApplied && o.list === 'OpcodeList2' && o.id === 8))));
  const defaultCrop = readDefaultCrop(tiff, raw, width, height, warnings);
  const scale = plane.floatScale ?? 1;

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
  const white = plane.lossy ? 65535 : plane.floatScale !== undefined ? tiff.number(raw, T.whiteLevel, 1) * scale : tiff.number(raw, T.whiteLevel, (1 << plane.bitDepth) - 1);
  return {
    make,
    model,
    width,
    height,
    mosaic,
    cfaPattern,
    blackLevel: (linear ? linearBlack(tiff, raw, warnings) : blackLevels(tiff, raw, width, height, warnings)).map((b) => b * scale) as [number, number, number, number],
    whiteLevel: white,
    ...(defaultCrop ? { defaultCrop } : {}),
    asShotWB: asShotWB(tiff, ifd0, warnings),
    cam2rgb: cam2rgbOrIdentity(xyz2cam, `${make} ${model}`.trim(), warnings),
    ...(xyz2cam ? { xyz2cam } : {}),
    bitDepth: plane.bitDepth,
    orientation,
    ...(iso !== undefined ? { iso } : {}),
    format: 'dng',
    ...(linear ? { sensor: 'linear RGB' as const } : {}),
    warnings,
  };
}

/**
 * The full-size raw image: IFD 0 or the first SubIFD (breadth-first, bounded) holding a CFA image, else one
 * holding LinearRaw RGB (three samples per pixel). Monochrome LinearRaw (one sample) is left to LibRaw.
 */
function findRawIfd(tiff: TiffFile, ifd0: Ifd): { ifd: Ifd; linear: boolean } {
  const main = (ifd: Ifd): boolean => tiff.number(ifd, T.newSubFileType, 0) === 0;
  const isCfa = (ifd: Ifd): boolean => main(ifd) && tiff.number(ifd, 262, 0) === CFA;
  const isLinear = (ifd: Ifd): boolean => main(ifd) && tiff.number(ifd, 262, 0) === LINEAR_RAW && tiff.number(ifd, 277, 1) === 3;
  const queue: Ifd[] = [ifd0];
  let linear: Ifd | undefined;
  for (let i = 0; i < queue.length; i++) {
    const ifd = queue[i]!;
    if (isCfa(ifd)) return { ifd, linear: false };
    if (!linear && isLinear(ifd)) linear = ifd;
    if (tiff.has(ifd, T.subIfds)) for (const [k, offset] of tiff.counts(ifd, T.subIfds, 32).entries()) queue.push(tiff.readIfd(offset, `${ifd.label} SubIFD ${k}`));
  }
  if (linear) return { ifd: linear, linear: true };
  throw new RawUnsupportedError(tiff.name, 'no full-size CFA or LinearRaw RGB image in IFD 0 or its SubIFDs (a monochrome DNG?), which our reader does not decode');
}

/** LinearRaw black per colour, as [R, G, G, B] (matching the placeholder pattern RGGB). */
function linearBlack(tiff: TiffFile, raw: Ifd, warnings: string[]): [number, number, number, number] {
  if (!tiff.has(raw, T.blackLevel)) return [0, 0, 0, 0];
  const v = tiff.numbers(raw, T.blackLevel, 256);
  if (!v.every(Number.isFinite) || v.length === 0) throw tiff.error(`${raw.label}: BlackLevel holds no usable value`);
  if (tiff.has(raw, T.blackRepeatDim) && tiff.counts(raw, T.blackRepeatDim, 2).some((d) => d !== 1)) warnings.push('BlackLevelRepeatDim is not 1x1 for a LinearRaw image: using its first entry per colour');
  const [r = v[0]!, g = r, b = g] = v;
  return [r, g, g, b];
}

/** ActiveArea [top, left, bottom, right], clamped to the plane (dcraw takes it as written; we warn instead). */
function activeArea(tiff: TiffFile, raw: Ifd, planeW: number, planeH: number, warnings: string[]) {
  if (!tiff.has(raw, T.activeArea)) return { top: 0, left: 0, width: planeW, height: planeH };
  const [t = 0, l = 0, b = planeH, r = planeW] = tiff.counts(raw, T.activeArea, 4);
  const top = Math.min(t, planeH - 1);
  const left = Math.min(l, planeW - 1);
  const bottom = Math.min(Math.max(b, top + 1), planeH);
  const right = Math.min(Math.max(r, left + 1), planeW);
  if (top !== t || left !== l || bottom !== b || right !== r) {
    warnings.push(`ActiveArea [${t}, ${l}, ${b}, ${r}] does not fit the ${planeW}x${planeH} image: using [${top}, ${left}, ${bottom}, ${right}]`);
  }
  return { top, left, width: right - left, height: bottom - top };
}

/** DefaultCropOrigin/Size (relative to the active area), when present and inside it. */
function readDefaultCrop(tiff: TiffFile, raw: Ifd, width: number, height: number, warnings: string[]) {
  if (!tiff.has(raw, T.defaultCropOrigin) && !tiff.has(raw, T.defaultCropSize)) return undefined;
  const [x = 0, y = 0] = tiff.has(raw, T.defaultCropOrigin) ? tiff.numbers(raw, T.defaultCropOrigin, 2) : [];
  const [w = width, h = height] = tiff.has(raw, T.defaultCropSize) ? tiff.numbers(raw, T.defaultCropSize, 2) : [];
  const crop = { left: Math.round(x), top: Math.round(y), width: Math.round(w), height: Math.round(h) };
  if (![x, y, w, h].every(Number.isFinite) || crop.left < 0 || crop.top < 0 || crop.width < 1 || crop.height < 1 || crop.left + crop.width > width || crop.top + crop.height > height) {
    warnings.push(`DefaultCrop origin (${x}, ${y}) size ${w}x${h} does not fit the ${width}x${height} active area: ignored`);
    return undefined;
  }
  return crop;
}

/**
 * Black per 2×2 position (relative to the active area): BlackLevel averaged over each CFA phase of its repeat
 * pattern, plus the mean of BlackLevelDeltaH over that phase's columns and of BlackLevelDeltaV over its rows.
 * Where the values of one phase differ (a repeat larger than 2×2, deltas that vary along the sensor) a
 * warning says so: our black is one number per phase.
 */
function blackLevels(tiff: TiffFile, raw: Ifd, width: number, height: number, warnings: string[]): [number, number, number, number] {
  const out = [0, 0, 0, 0];
  if (tiff.has(raw, T.blackLevel)) {
    let [rows = 1, cols = 1] = tiff.has(raw, T.blackRepeatDim) ? tiff.counts(raw, T.blackRepeatDim, 2) : [];
    if (rows < 1 || cols < 1 || rows * cols > 256) {
      warnings.push(`BlackLevelRepeatDim ${rows}x${cols} is not plausible: using 1x1, as dcraw does`);
      rows = cols = 1;
    }
    const v = tiff.numbers(raw, T.blackLevel, 256);
    if (!v.every(Number.isFinite)) throw tiff.error(`${raw.label}: BlackLevel holds a value that is not a finite number`);
    if (v.length === 0) throw tiff.error(`${raw.label}: BlackLevel has no values`);
    if (v.length < rows * cols) warnings.push(`BlackLevel has ${v.length} values for a ${rows}x${cols} repeat: repeating them`);
    for (let k = 0; k < 4; k++) {
      const seen: number[] = [];
      for (let y = k >> 1; y < 2 * rows; y += 2) for (let x = k & 1; x < 2 * cols; x += 2) seen.push(v[((y % rows) * cols + (x % cols)) % v.length]!);
      out[k] = seen.reduce((a, b) => a + b, 0) / seen.length;
      if (seen.some((s) => s !== seen[0])) warnings.push(`black levels of CFA position ${k} differ (${seen.join(', ')}); using their mean`);
    }
  }
  for (const [tag, n, name, axis] of [[T.blackDeltaH, width, 'BlackLevelDeltaH', 1], [T.blackDeltaV, height, 'BlackLevelDeltaV', 0]] as const) {
    if (!tiff.has(raw, tag)) continue;
    const d = tiff.numbers(raw, tag, 1 << 16);
    if (d.length !== n || !d.every(Number.isFinite)) {
      warnings.push(`${name} has ${d.length} values for ${n} ${axis ? 'columns' : 'rows'}: ignored`);
      continue;
    }
    const mean = [0, 1].map((phase) => {
      const part = d.filter((_, i) => (i & 1) === phase);
      return part.length ? part.reduce((a, b) => a + b, 0) / part.length : 0;
    });
    for (let k = 0; k < 4; k++) out[k]! += mean[axis ? k & 1 : k >> 1]!;
    const spread = Math.max(...d) - Math.min(...d);
    if (spread > 0) warnings.push(`${name} varies by ${+spread.toFixed(3)} along the sensor; our black level is its mean per CFA phase`);
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
