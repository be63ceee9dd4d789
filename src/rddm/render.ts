import { tensor } from '../ops/creation.js';
import { noGrad } from '../autograd/graph.js';
import { tidy } from '../tensor/scope.js';
import { ptp, type PtpParams } from '../raw/ptp.js';
import type { RawImage } from '../raw/raw-image.js';

/**
 * PTP parameters that render a RAW file: its as-shot white balance and colour matrix, brightened by `gain` (see
 * exposure.ts) where dcraw applies its white point: after the sensor clip, on the output colour (the matrix rows
 * scaled), so values over the new white clip at the second clip. For gain ≥ 1 this is exactly
 * min(1, gain·min(1, cam2rgb·x)), dcraw's order.
 */
export function rawRenderParams(raw: Pick<RawImage, 'asShotWB' | 'cam2rgb'>, gain = 1): PtpParams {
  return { wbGains: raw.asShotWB, cam2rgb: raw.cam2rgb.map((row) => row.map((v) => v * gain)) };
}

/**
 * Planar linear camera RGB [3, H, W] → interleaved 8-bit sRGB through PTP on the GPU, in bands of rows so a
 * full-resolution photo never needs one huge buffer.
 */
export async function linearToSrgb8(linear: Float32Array, width: number, height: number, params: PtpParams, bandRows = 256): Promise<Uint8Array> {
  const out = new Uint8Array(width * height * 3);
  const plane = width * height;
  for (let y0 = 0; y0 < height; y0 += bandRows) {
    const rows = Math.min(bandRows, height - y0);
    const band = new Float32Array(3 * rows * width);
    for (let c = 0; c < 3; c++) band.set(linear.subarray(c * plane + y0 * width, c * plane + (y0 + rows) * width), c * rows * width);
    const srgb = noGrad(() => tidy(() => ptp(tensor(band, [1, 3, rows, width]), params)));
    const px = await srgb.data();
    srgb.dispose();
    for (let i = 0; i < rows * width; i++)
      for (let c = 0; c < 3; c++) out[(y0 * width + i) * 3 + c] = Math.round(Math.min(1, Math.max(0, px[c * rows * width + i])) * 255);
  }
  return out;
}

/** Planar linear [3, H, W] → interleaved 16-bit (clipped to [0, 1]) for TIFF output. */
export function linearToU16(linear: Float32Array, width: number, height: number): Uint16Array {
  const plane = width * height;
  const out = new Uint16Array(plane * 3);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round(Math.min(1, Math.max(0, linear[c * plane + i])) * 65535);
  return out;
}
