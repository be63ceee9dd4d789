// Canon CR2: a TIFF whose raw IFD (named in the CR2 header, normally IFD 3) holds one lossless JPEG
// written as vertical slices. Crop, black and white follow libraw: for sensors in the crop table the
// black level is measured on the masked left border; otherwise the maker note's rectangle and levels.

import { decodeLosslessJpeg } from './ljpeg.js';
import { readCanonMakerNote, type CanonMakerNote } from './canon-makernote.js';
import { builtinColor, canonCrop } from './camera-table.js';
import { cam2rgbOrIdentity } from './color-matrix.js';
import { cropPattern } from './bayer-pattern.js';
import { cropPlane, type RawImage } from './raw-image.js';
import { TiffFile, type Ifd } from './tiff-ifd.js';

const CR2_SLICES = 0xc640;
/** Largest raw frame we accept (4× today's biggest sensors); protects against corrupt sizes. */
const MAX_SAMPLES = 1 << 28;

export function isCr2(bytes: Uint8Array): boolean {
  return bytes.length >= 16 && bytes[0] === 0x49 && bytes[1] === 0x49 && bytes[8] === 0x43 && bytes[9] === 0x52;
}

export function readCr2(bytes: Uint8Array, name: string): RawImage {
  const tiff = new TiffFile(bytes, name);
  if (!isCr2(bytes)) throw tiff.error('no "CR" signature at offset 8: not a Canon CR2 file');
  const warnings: string[] = [];
  const chain = tiff.readChain(8);
  const ifd0 = chain[0]!;
  const rawIfd = findRawIfd(tiff, chain);
  const make = tiff.string(ifd0, 271) ?? 'Canon';
  let model = tiff.string(ifd0, 272) ?? '';
  if (model.startsWith(make + ' ')) model = model.slice(make.length + 1);

  const offset = tiff.counts(rawIfd, 273, 64)[0];
  const length = tiff.counts(rawIfd, 279, 64)[0];
  if (offset === undefined || length === undefined) throw tiff.error(`${rawIfd.label} has an empty StripOffsets/StripByteCounts`);
  const jpeg = tiff.r.slice(offset, length, `raw data of ${rawIfd.label}`);
  const img = decodeLosslessJpeg(jpeg, name, 'raw data', { maxSamples: MAX_SAMPLES });
  const slices = tiff.has(rawIfd, CR2_SLICES) ? tiff.counts(rawIfd, CR2_SLICES, 3) : [];
  const { raw, rawWidth, rawHeight } = unslice(tiff, img.data, img.width * img.components, img.height, slices);

  const note = readCanonMakerNote(tiff, ifd0, warnings);
  const { left, top, width, height, fromTable } = activeArea(tiff, rawWidth, rawHeight, note, warnings);
  const blackLevel =
    (fromTable ? maskedBlack(raw, rawWidth, left, top, width, height) : undefined) ??
    blackFromMakerNote(note, left, top) ??
    maskedBlack(raw, rawWidth, left, top, width, height);
  if (!blackLevel) warnings.push('no masked pixels or maker-note black levels: black level set to 0');

  const camera = `${make} ${model}`;
  const color = builtinColor(make, model);
  const wb = note.asShotRggb;
  let asShotWB: [number, number, number] = [1, 1, 1];
  if (wb && wb[1] > 0) asShotWB = [wb[0] / wb[1], 1, wb[3] / wb[1]];
  else warnings.push('no as-shot white balance in the maker note: using [1, 1, 1]');
  let orientation = tiff.number(ifd0, 274, 1);
  if (!Number.isInteger(orientation) || orientation < 1 || orientation > 8) {
    warnings.push(`orientation ${orientation} is not 1..8: using 1`);
    orientation = 1;
  }
  return {
    make,
    model,
    width,
    height,
    mosaic: cropPlane(raw, rawWidth, left, top, width, height),
    cfaPattern: cropPattern('RGGB', top, left),
    blackLevel: blackLevel ?? [0, 0, 0, 0],
    whiteLevel: color?.white || (1 << img.precision) - 1,
    asShotWB,
    cam2rgb: cam2rgbOrIdentity(color?.xyz2cam, camera, warnings),
    ...(color ? { xyz2cam: color.xyz2cam } : {}),
    bitDepth: img.precision,
    orientation,
    ...(note.iso !== undefined ? { iso: note.iso } : {}),
    format: 'cr2',
    warnings,
  };
}

function findRawIfd(tiff: TiffFile, chain: Ifd[]): Ifd {
  const pointer = tiff.r.u32(12);
  const known = chain.find((i) => i.offset === pointer);
  if (known) return known;
  if (pointer !== 0 && tiff.r.inRange(pointer, 2)) return tiff.readIfd(pointer, 'raw IFD');
  const ifd3 = chain[3];
  if (!ifd3) throw tiff.error(`has ${chain.length} IFDs and no valid raw IFD pointer: the raw image (IFD 3) is missing`);
  return ifd3;
}

/** Canon stores the sensor as vertical slices one after another: [count, width, lastWidth]. */
function unslice(tiff: TiffFile, data: Uint16Array, rowLen: number, rows: number, slices: number[]) {
  const total = rowLen * rows;
  const [count = 0, w = 0, last = 0] = slices;
  if (slices.length < 3 || count * w + last === 0) return { raw: data, rawWidth: rowLen, rawHeight: rows };
  const rawWidth = count * w + last;
  if (count > 64 || w === 0 || last === 0 || total % rawWidth !== 0) {
    throw tiff.error(`slice layout [${slices.join(', ')}] does not tile a ${rowLen}x${rows} frame`);
  }
  const rawHeight = total / rawWidth;
  const raw = new Uint16Array(total);
  let k = 0;
  for (let s = 0; s <= count; s++) {
    const sw = s < count ? w : last;
    for (let y = 0, at = s * w; y < rawHeight; y++, at += rawWidth, k += sw) raw.set(data.subarray(k, k + sw), at);
  }
  return { raw, rawWidth, rawHeight };
}

function activeArea(tiff: TiffFile, rawWidth: number, rawHeight: number, note: CanonMakerNote, warnings: string[]) {
  let area: { left: number; top: number; width: number; height: number; fromTable: boolean };
  const crop = canonCrop(rawWidth, rawHeight);
  const s = note.sensor;
  if (crop) {
    const { left, top } = crop;
    area = { left, top, width: rawWidth - left - crop.widthDecrease, height: rawHeight - top - crop.heightDecrease, fromTable: true };
  } else if (s && s.width === rawWidth && s.height === rawHeight) {
    // libraw rounds the maker note's rectangle to even so the CFA phase is kept.
    const left = (s.left + 1) & ~1;
    const top = (s.top + 1) & ~1;
    area = { left, top, width: s.right - left, height: s.bottom - top, fromTable: false };
  } else {
    warnings.push(`no crop known for a ${rawWidth}x${rawHeight} Canon sensor: using the whole frame`);
    area = { left: 0, top: 0, width: rawWidth, height: rawHeight, fromTable: false };
  }
  const { left, top, width, height } = area;
  if (width <= 0 || height <= 0 || left + width > rawWidth || top + height > rawHeight) {
    throw tiff.error(`active area ${width}x${height} at (${left}, ${top}) does not fit the ${rawWidth}x${rawHeight} sensor`);
  }
  return area;
}

/**
 * Mean of the masked columns left and right of the active area (skipping 2 columns at each edge, which
 * catch light), over the active rows, per CFA position, rounded down: libraw's crop_masked_pixels.
 */
function maskedBlack(raw: Uint16Array, rawWidth: number, left: number, top: number, width: number, height: number) {
  const sum = [0, 0, 0, 0];
  const n = [0, 0, 0, 0];
  let zeros = 0;
  const spans = [
    [2, left - 2],
    [left + width + 2, rawWidth],
  ];
  for (let y = top; y < top + height; y++) {
    for (const [x0, x1] of spans) {
      for (let x = x0!; x < x1!; x++) {
        const k = (((y - top) & 1) << 1) | ((x - left) & 1);
        const v = raw[y * rawWidth + x]!;
        sum[k]! += v;
        n[k]!++;
        if (v === 0) zeros++;
      }
    }
  }
  if (n.some((c) => c === 0) || zeros >= n[0]!) return undefined;
  return sum.map((s, k) => Math.floor(s / n[k]!)) as [number, number, number, number];
}

/** The maker note's R, G1, G2, B levels (sensor positions of the RGGB tile) moved to active-area positions. */
function blackFromMakerNote(note: CanonMakerNote, left: number, top: number) {
  const b = note.blackRggb;
  if (!b || b.every((v) => v === 0)) return undefined;
  return [0, 1, 2, 3].map((k) => b[((((k >> 1) + top) & 1) << 1) | (((k & 1) + left) & 1)]!) as [number, number, number, number];
}
