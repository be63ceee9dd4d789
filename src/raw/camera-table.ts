// Built-in per-camera data for formats that do not carry it (CR2 has no colour matrix and no
// active-area rectangle that dcraw trusts). Values are the published ones from dcraw's adobe_coeff and
// Canon crop tables, so our output matches dcraw/libraw. Add a camera by adding a row.

import type { Matrix3 } from './raw-image.js';

interface CameraColor {
  /** XYZ (D65) → camera, ×10000 as Adobe publishes them, row-major. */
  xyz2cam: readonly number[];
  /** Saturation level when it is below the full bit range (0 = use 2^bits - 1). */
  white: number;
}

// Keyed by "Make Model" as dcraw normalises them (model without the make prefix).
const COLORS: Record<string, CameraColor> = {
  'Canon EOS 20D': { white: 0xfff, xyz2cam: [6599, -537, -891, -8071, 15783, 2424, -1983, 2234, 7462] },
  'Canon EOS 30D': { white: 0, xyz2cam: [6257, -303, -1000, -7880, 15621, 2396, -1714, 1904, 7046] },
  'Canon EOS 40D': { white: 0x3f60, xyz2cam: [6071, -747, -856, -7653, 15365, 2441, -2025, 2553, 7315] },
  'Canon EOS 350D': { white: 0xfff, xyz2cam: [6018, -617, -965, -8645, 15881, 2975, -1530, 1719, 7642] },
  'Canon EOS 400D': { white: 0xe8e, xyz2cam: [7054, -1501, -990, -8156, 15544, 2812, -1278, 1414, 7796] },
  'Canon EOS 450D': { white: 0x390d, xyz2cam: [5784, -262, -821, -7539, 15064, 2672, -1982, 2681, 7427] },
  'Canon EOS 1000D': { white: 0xe43, xyz2cam: [6771, -1139, -977, -7818, 15123, 2928, -1244, 1437, 7533] },
  'Canon EOS 5D': { white: 0xe6c, xyz2cam: [6347, -479, -972, -8297, 15954, 2480, -1968, 2131, 7649] },
  'Canon EOS 50D': { white: 0x3d93, xyz2cam: [4920, 616, -593, -6493, 13964, 2784, -1774, 3178, 7005] },
};

export interface BuiltinColor {
  xyz2cam: Matrix3;
  white: number;
}

export function builtinColor(make: string, model: string): BuiltinColor | undefined {
  const c = COLORS[`${make} ${model}`];
  if (!c) return undefined;
  const m = c.xyz2cam.map((v) => v / 10000);
  return { white: c.white, xyz2cam: [m.slice(0, 3), m.slice(3, 6), m.slice(6, 9)] as Matrix3 };
}

/** Where dcraw/libraw crop a Canon sensor of a given raw size: the top-left and what to drop on the right/bottom. */
export interface CanonCrop {
  left: number;
  top: number;
  widthDecrease: number;
  heightDecrease: number;
}

// [rawWidth, rawHeight, left, top, widthDecrease, heightDecrease], from dcraw's canon[] table (the
// EOS rows without special masks or CFA overrides).
const CANON_CROPS: readonly (readonly number[])[] = [
  [3516, 2328, 42, 14, 0, 0], // 350D
  [3596, 2360, 74, 12, 0, 0], // 20D, 30D, 1D Mark II (N)
  [3944, 2622, 30, 18, 6, 2], // 40D
  [3948, 2622, 42, 18, 0, 2], // 400D, 1000D
  [4312, 2876, 22, 18, 0, 2], // 450D
  [4476, 2954, 90, 34, 0, 0], // 5D
  [4832, 3228, 62, 51, 0, 0], // 50D
];

export function canonCrop(rawWidth: number, rawHeight: number): CanonCrop | undefined {
  const row = CANON_CROPS.find((r) => r[0] === rawWidth && r[1] === rawHeight);
  return row && { left: row[2]!, top: row[3]!, widthDecrease: row[4]!, heightDecrease: row[5]! };
}
