// Camera colour matrices. RAW files (or our built-in table) give XYZ → camera; rendering needs
// camera → sRGB. We follow dcraw exactly so our numbers can be checked against `raw-identify -v`.

import type { Matrix3 } from './raw-image.js';

/** Linear sRGB (D65) → XYZ, with the same digits dcraw uses, so results match dcraw/libraw. */
export const SRGB_TO_XYZ: Matrix3 = [
  [0.412453, 0.35758, 0.180423],
  [0.212671, 0.71516, 0.072169],
  [0.019334, 0.119193, 0.950227],
];

export const IDENTITY3: Matrix3 = [
  [1, 0, 0],
  [0, 1, 0],
  [0, 0, 1],
];

export function mul3(a: Matrix3, b: Matrix3): Matrix3 {
  const out = [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ] as Matrix3;
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++) out[i][j] = a[i][0] * b[0][j] + a[i][1] * b[1][j] + a[i][2] * b[2][j];
  return out;
}

/** Inverse by cofactors, or null when the matrix is (numerically) singular. */
export function inverse3(m: Matrix3): Matrix3 | null {
  const [[a, b, c], [d, e, f], [g, h, i]] = m;
  const A = e * i - f * h;
  const B = f * g - d * i;
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  const scale = Math.max(...m.flat().map(Math.abs));
  if (!Number.isFinite(det) || Math.abs(det) <= 1e-12 * scale ** 3) return null;
  const k = 1 / det;
  return [
    [A * k, (c * h - b * i) * k, (b * f - c * e) * k],
    [B * k, (a * i - c * g) * k, (c * d - a * f) * k],
    [C * k, (b * g - a * h) * k, (a * e - b * d) * k],
  ];
}

/**
 * camera → sRGB from XYZ → camera, as dcraw's cam_xyz_coeff: rgb2cam = xyz2cam · sRGB2XYZ with each row
 * scaled to sum 1 (so camera white (1,1,1) maps to sRGB white), then inverted. Null if singular.
 */
export function cam2rgbFromXyz2cam(xyz2cam: Matrix3): Matrix3 | null {
  const rgb2cam = mul3(xyz2cam, SRGB_TO_XYZ);
  for (const row of rgb2cam) {
    const sum = row[0] + row[1] + row[2];
    // dcraw leaves a row alone when its sum is ~0 rather than dividing by it.
    if (sum > 1e-5) for (let j = 0; j < 3; j++) row[j]! /= sum;
  }
  return inverse3(rgb2cam);
}

/**
 * An XYZ → camera matrix that cam2rgbFromXyz2cam maps back to `cam2rgb`. The per-row scale of the
 * original is lost (dcraw's normalisation discards it), so the rows come out scaled so that sRGB white
 * gives camera (1,1,1).
 */
export function xyz2camFromCam2rgb(cam2rgb: Matrix3): Matrix3 | null {
  const rgb2cam = inverse3(cam2rgb);
  const xyz2srgb = inverse3(SRGB_TO_XYZ);
  return rgb2cam && xyz2srgb ? mul3(rgb2cam, xyz2srgb) : null;
}

/** cam2rgb for a reader: from `xyz2cam` when there is a usable one, else the identity plus a warning. */
export function cam2rgbOrIdentity(xyz2cam: Matrix3 | undefined, camera: string, warnings: string[]): Matrix3 {
  if (!xyz2cam) {
    warnings.push(`no colour matrix known for "${camera}": cam2rgb is the identity, colours will be wrong`);
    return IDENTITY3.map((r) => [...r]) as Matrix3;
  }
  const m = cam2rgbFromXyz2cam(xyz2cam);
  if (!m) {
    warnings.push(`the colour matrix of "${camera}" is singular: cam2rgb is the identity`);
    return IDENTITY3.map((r) => [...r]) as Matrix3;
  }
  return m;
}
