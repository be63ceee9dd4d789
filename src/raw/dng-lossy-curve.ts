// What 8-bit lossy-DNG samples (compression 34892) mean in 16-bit linear values, as dcraw and LibRaw read
// them: per colour plane, the MapPolynomial opcodes of OpcodeList2 when the writer gave them (Adobe's lossy
// DNGs do), else the inverse of the sRGB transfer curve. The sRGB toe is found as dcraw finds it (bisection
// for the point where the linear segment, slope 1/12.92, meets the 2.4 power segment with the same slope), so
// the 16-bit values agree exactly.

import type { Ifd, TiffFile } from './tiff-ifd.js';

/** 256 entries: 8-bit sample → 16-bit linear value (truncated, as dcraw's ushort cast does). */
export type LossyCurve = Uint16Array;

/** The inverse sRGB curve with the toe and offset solved numerically (48 halvings of [0, 1]). */
export function srgbDecodeCurve(): LossyCurve {
  const power = 1 / 2.4;
  const slope = 12.92;
  // The toe x (in encoded units): below it, linear = x / slope; above, ((x + a) / (1 + a))^(1 / power) with
  // a = x (1 / power - 1). x solves ((x / slope)^-power - 1) / power - 1 / x = -1.
  let lo = 0;
  let hi = 1;
  let toe = 0;
  for (let i = 0; i < 48; i++) {
    toe = (lo + hi) / 2;
    if ((Math.pow(toe / slope, -power) - 1) / power - 1 / toe > -1) hi = toe;
    else lo = toe;
  }
  const offset = toe * (1 / power - 1);
  const curve = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    const r = i / 255;
    if (r >= 1) {
      curve[i] = 0xffff;
      continue;
    }
    const linear = r < toe ? r / slope : Math.pow((r + offset) / (1 + offset), 1 / power);
    curve[i] = Math.trunc(0x10000 * linear);
  }
  return curve;
}

/**
 * Curves for planes 0..2 from OpcodeList2's MapPolynomial opcodes (ID 8: degree ≤ 8, coefficients in x = v/255,
 * result × 65535), the sRGB curve for planes without one. `applied` says whether any polynomial was used.
 */
export function lossyCurves(tiff: TiffFile, ifd: Ifd, warnings: string[]): { curves: LossyCurve[]; applied: boolean } {
  const curves: (LossyCurve | undefined)[] = [undefined, undefined, undefined];
  const range = tiff.valueRange(ifd, 51009);
  if (range && range.length >= 4) {
    const r = tiff.r;
    const u32 = (at: number): number => ((r.u8(at) << 24) | (r.u8(at + 1) << 16) | (r.u8(at + 2) << 8) | r.u8(at + 3)) >>> 0;
    const f64 = (at: number): number => {
      const dv = new DataView(new ArrayBuffer(8));
      for (let k = 0; k < 8; k++) dv.setUint8(k, r.u8(at + k));
      return dv.getFloat64(0);
    };
    const end = range.offset + range.length;
    let at = range.offset + 4;
    for (let k = 0, n = u32(range.offset); k < n && k < 1024 && at + 16 <= end; k++) {
      const id = u32(at);
      const size = u32(at + 12);
      const p = at + 16;
      at = p + size;
      if (id !== 8 || p + 40 > end) continue;
      const plane = u32(p + 16);
      const degree = u32(p + 32);
      if (plane > 2 || degree > 8 || p + 36 + 8 * (degree + 1) > end) continue;
      const coeff = Array.from({ length: degree + 1 }, (_, j) => f64(p + 36 + 8 * j));
      if (!coeff.every(Number.isFinite)) continue;
      const curve = new Uint16Array(256);
      for (let i = 0; i < 256; i++) {
        let total = 0;
        for (let j = 0; j <= degree; j++) total += coeff[j]! * Math.pow(i / 255, j);
        curve[i] = Math.min(65535, Math.max(0, Math.trunc(total * 0xffff)));
      }
      curves[plane] = curve;
    }
  }
  const applied = curves.some(Boolean);
  if (applied && !curves.every(Boolean)) warnings.push('lossy JPEG: MapPolynomial covers only some colour planes; the others use the sRGB curve');
  const srgb = curves.every(Boolean) ? undefined : srgbDecodeCurve();
  return { curves: curves.map((c) => c ?? srgb!), applied };
}
