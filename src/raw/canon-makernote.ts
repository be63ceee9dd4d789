// The parts of a Canon maker note a RAW reader needs: the sensor rectangle (tag 0x00e0), the as-shot
// white balance and per-channel black levels from the colour data (tag 0x4001), plus the EXIF ISO.
// The ColorData layout depends on its length (one length per camera generation).

import { RawFormatError } from './errors.js';
import type { Ifd, TiffFile } from './tiff-ifd.js';

export interface CanonSensorInfo {
  width: number;
  height: number;
  /** Canon's recommended image rectangle, inclusive edges, in raw coordinates. */
  left: number;
  top: number;
  right: number;
  bottom: number;
}

export interface CanonMakerNote {
  sensor?: CanonSensorInfo;
  /** As-shot multipliers in sensor order R, G1, G2, B. */
  asShotRggb?: [number, number, number, number];
  /** Black per channel R, G1, G2, B, where this ColorData version records it. */
  blackRggb?: [number, number, number, number];
  iso?: number;
}

// ColorData length → offset (in 16-bit words) of WB_RGGBLevelsAsShot.
const AS_SHOT_OFFSET: Record<number, number> = { 582: 0x19, 653: 0x22, 1820: 0x47, 1824: 0x47, 1816: 0x47 };
for (const len of [796, 674, 692, 702, 1227, 1250, 1251, 1337, 1338, 1346, 1273, 1275, 1312, 1313, 1316, 1506, 1560, 1592, 1353, 1602]) {
  AS_SHOT_OFFSET[len] = 0x3f;
}
// ColorData length → offset of the per-channel black levels (only the generations we have checked).
const BLACK_OFFSET: Record<number, number> = { 582: 0xa6, 653: 0x11e, 796: 0xc4 };

const EXIF_IFD = 34665;
const ISO_SPEED = 0x8827;
const MAKER_NOTE = 0x927c;

/** Reads what it can; a damaged maker note leaves fields undefined (the caller warns), never throws a format error. */
export function readCanonMakerNote(tiff: TiffFile, ifd0: Ifd, warnings: string[]): CanonMakerNote {
  const out: CanonMakerNote = {};
  try {
    if (!tiff.has(ifd0, EXIF_IFD)) return out;
    const exif = tiff.readIfd(tiff.number(ifd0, EXIF_IFD), 'EXIF IFD');
    if (tiff.has(exif, ISO_SPEED)) out.iso = tiff.number(exif, ISO_SPEED);
    const mn = tiff.valueRange(exif, MAKER_NOTE);
    if (!mn) return out;
    const note = tiff.readIfd(mn.offset, 'Canon maker note');
    if (tiff.has(note, 0x00e0)) {
      const s = tiff.numbers(note, 0x00e0, 64);
      if (s.length >= 9) out.sensor = { width: s[1]!, height: s[2]!, left: s[5]!, top: s[6]!, right: s[7]!, bottom: s[8]! };
    }
    if (tiff.has(note, 0x4001)) {
      const cd = tiff.numbers(note, 0x4001, 1 << 14);
      const wbAt = AS_SHOT_OFFSET[cd.length];
      if (wbAt !== undefined) out.asShotRggb = [cd[wbAt]!, cd[wbAt + 1]!, cd[wbAt + 2]!, cd[wbAt + 3]!];
      else warnings.push(`Canon colour data of length ${cd.length} is not known: no as-shot white balance`);
      const blackAt = BLACK_OFFSET[cd.length];
      if (blackAt !== undefined) out.blackRggb = [cd[blackAt]!, cd[blackAt + 1]!, cd[blackAt + 2]!, cd[blackAt + 3]!];
    }
  } catch (e) {
    if (!(e instanceof RawFormatError)) throw e;
    warnings.push(`maker note unreadable: ${e.message}`);
  }
  return out;
}
