// Small synthetic inputs shared by the RDDM system tests.
import type { RawImage } from '../../src/raw/raw-image.js';
import type { BayerPattern } from '../../src/raw/bayer-pattern.js';

/**
 * A planar linear image [3, h, w] with a different level and ramp per channel, and its RGGB mosaic (R, G, G, B in
 * each 2×2 block): the mosaic's colour-site means are close to, not equal to, the image's channel means.
 */
export function rampImageAndMosaic(h: number, w: number): { img: Float32Array; mos: Float32Array } {
  const img = new Float32Array(3 * h * w);
  const mos = new Float32Array(h * w);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const rgb = [0.02 + 0.001 * x, 0.05 + 0.002 * y, 0.01];
      for (let c = 0; c < 3; c++) img[c * h * w + y * w + x] = rgb[c];
      mos[y * w + x] = rgb[y % 2 === 0 ? (x % 2 === 0 ? 0 : 1) : x % 2 === 0 ? 1 : 2];
    }
  return { img, mos };
}

/** A 12-bit RAW (black 64, white 4095, identity colour matrix) holding the given codes. */
export function syntheticRaw(width: number, height: number, mosaic: Uint16Array, cfaPattern: BayerPattern): RawImage {
  return {
    make: 'Test', model: 'Cam', width, height, mosaic, cfaPattern, blackLevel: [64, 64, 64, 64],
    whiteLevel: 4095, asShotWB: [2, 1, 1.5], cam2rgb: [[1, 0, 0], [0, 1, 0], [0, 0, 1]], bitDepth: 12, orientation: 1, format: 'dng', warnings: [],
  };
}
