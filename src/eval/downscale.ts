import type { SrgbImage } from '../raw/synth-batch.js';

/**
 * Area (box) downscale of an sRGB photo by an integer factor, for the large wallpapers of datasets/photos.json
 * (2000–6000 px JPEGs): each output pixel is the mean of a factor×factor block, taken in linear light (sRGB decoded,
 * averaged, encoded again) because that is what a sensor with bigger pixels would have recorded, and the synthesis
 * treats the photo as a picture of linear scene light. Rows and columns past the last whole block are dropped.
 * Averaging factor² pixels also shrinks the JPEG blocking and ringing of the originals by about that factor.
 */
export function downscaleArea(img: SrgbImage, factor: number): SrgbImage {
  if (!Number.isInteger(factor) || factor < 1) throw new RangeError(`downscaleArea: factor must be a positive integer, got ${factor}`);
  const width = Math.floor(img.width / factor), height = Math.floor(img.height / factor);
  if (width < 1 || height < 1) throw new RangeError(`downscaleArea: a ${img.width}x${img.height} image is smaller than one ${factor}x${factor} block`);
  const lut = srgbToLinearLut();
  const acc = new Float64Array(width * 3);
  const out = new Float32Array(width * height * 3);
  const inv = 1 / (factor * factor);
  for (let oy = 0; oy < height; oy++) {
    acc.fill(0);
    for (let y = oy * factor; y < (oy + 1) * factor; y++) {
      const row = y * img.width * 3;
      for (let x = 0; x < width * factor; x++) {
        const s = row + 3 * x, o = 3 * Math.floor(x / factor);
        acc[o] += toLinear(img.data[s]!, lut);
        acc[o + 1] += toLinear(img.data[s + 1]!, lut);
        acc[o + 2] += toLinear(img.data[s + 2]!, lut);
      }
    }
    for (let i = 0; i < width * 3; i++) out[oy * width * 3 + i] = linearToSrgb(acc[i]! * inv);
  }
  return { data: out, width, height };
}

/** The sRGB decoding curve (IEC 61966-2-1). */
export function srgbToLinear(v: number): number {
  return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
}

/** The sRGB encoding curve, the inverse of srgbToLinear. */
export function linearToSrgb(v: number): number {
  return v <= 0.0031308 ? 12.92 * v : 1.055 * v ** (1 / 2.4) - 0.055;
}

let lutCache: Float64Array | undefined;
/** Photos decode from 8-bit samples, so the 256 values k/255 are looked up; anything else is computed. */
function srgbToLinearLut(): Float64Array {
  return (lutCache ??= Float64Array.from({ length: 256 }, (_, k) => srgbToLinear(k / 255)));
}

function toLinear(v: number, lut: Float64Array): number {
  const k = Math.round(v * 255);
  return Math.abs(v * 255 - k) < 1e-4 ? lut[k]! : srgbToLinear(v);
}

/** Float RGB in [0, 1] → interleaved 8-bit RGB (rounded, clamped), for writing a downscaled photo as a PNG. */
export function toRgb8(img: SrgbImage): Uint8Array {
  const out = new Uint8Array(img.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.min(255, Math.max(0, Math.round(img.data[i]! * 255)));
  return out;
}
