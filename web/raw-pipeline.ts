// What the page does with a RAW file, in the same steps and with the same code as the CLI: decode (our DNG/CR2
// readers, LibRaw for other cameras), preview (bilinear demosaic + PTP with the file's as-shot white balance and
// colour matrix), restore (restoreRaw, tile by tile) and render (PTP to 8-bit sRGB, as `rddm restore` writes its PNG).
// The preview and the restored picture are rendered with one exposure gain, taken from the RAW as `rddm restore
// --exposure` takes it.
import { tensor, noGrad, tidy } from '../src/index.js';
import { assertBayer, openRaw } from '../src/raw/open-raw.js';
import { useLibRawWorker } from './libraw-client.js';
import type { RawImage } from '../src/raw/raw-image.js';
import { demosaicBilinear } from '../src/raw/bayer.js';
import { binRaw, normalizeMosaic, restoreRaw, type RestoreStage } from '../src/rddm/restore.js';
import { linearToSrgb8, rawRenderParams } from '../src/rddm/render.js';
import type { RddmSystem } from '../src/rddm/system.js';

/** An 8-bit interleaved RGB picture. */
export interface Rgb8 {
  width: number;
  height: number;
  data: Uint8Array;
}

// LibRaw (for cameras our own readers do not read) runs in a worker, started on first use. Its WebAssembly
// shares memory between threads, which needs a cross-origin-isolated page (the demo server sends COOP and COEP).
useLibRawWorker();

/** Any camera RAW; binning (as --bin) applies to Bayer mosaics only. */
export async function decodeRaw(bytes: Uint8Array, name: string, bin: number): Promise<RawImage> {
  const raw = await openRaw(bytes, name);
  return raw.sensor ? raw : binRaw(raw, bin);
}

/** Planar linear camera RGB [3, H, W] → 8-bit sRGB, with the RAW's white balance and colour matrix and this gain. */
export async function renderLinear(linear: Float32Array, width: number, height: number, raw: RawImage, gain: number): Promise<Rgb8> {
  return { width, height, data: await linearToSrgb8(linear, width, height, rawRenderParams(raw, gain)) };
}

/** Bilinear demosaic + PTP: what the sensor data looks like before restoration (`linear` kept to render again). */
export async function previewRaw(raw: RawImage, gain: number): Promise<{ image: Rgb8; linear: Float32Array }> {
  const lin = noGrad(() => tidy(() => demosaicBilinear(tensor(normalizeMosaic(raw), [1, 1, raw.height, raw.width]), raw.cfaPattern)));
  const linear = await lin.data();
  lin.dispose();
  return { image: await renderLinear(linear, raw.width, raw.height, raw, gain), linear };
}

export interface RestoreProgress {
  /** Fraction of the model work done, in [0, 1]. */
  fraction: number;
  label: string;
}

export interface RestoreResult {
  image: Rgb8;
  /** The restored linear camera RGB [3, H, W] (H, W: the image's), kept to render again at another exposure. */
  linear: Float32Array;
  /** Per tile and stage, then the rendering. */
  timings: { stage: string; ms: number }[];
}

const STAGES: readonly RestoreStage[] = ['encode', 'unet', 'decode'];
const STAGE_NAMES: Record<RestoreStage, string> = { encode: 'encode (E_raw)', unet: 'UNet (one step)', decode: 'decode (D_lin)' };

/** Restores with the CLI's defaults (one step, tiles of 128 latent pixels), timing every stage of every tile. */
export async function restoreToSrgb(sys: RddmSystem, raw: RawImage, name: string, gain: number, onProgress: (p: RestoreProgress) => void): Promise<RestoreResult> {
  assertBayer(raw, name);
  // As `rddm restore`: a pattern without a trained CMB-LoRA adapter would silently run untrained weights.
  const adapters = new Set(sys.unet.namedParameters().map(([k]) => /\.lora_A\.([A-Z]+)\./.exec(k)?.[1]).filter(Boolean));
  if (adapters.size && !adapters.has(raw.cfaPattern)) throw new Error(`${name}: CFA pattern ${raw.cfaPattern} has no trained adapter in the shipped weights (have ${[...adapters].join(', ')})`);
  const timings: RestoreResult['timings'] = [];
  const res = await restoreRaw(sys, raw, {
    steps: 1,
    onStage: (stage, ms, tile, tiles) => {
      const tileName = tiles > 1 ? `tile ${tile + 1}/${tiles}: ` : '';
      timings.push({ stage: `${tileName}${STAGE_NAMES[stage]}`, ms });
      const k = STAGES.indexOf(stage) + 1;
      const next = k < STAGES.length ? `${tileName}${STAGE_NAMES[STAGES[k]]}` : tile + 1 < tiles ? `tile ${tile + 2}/${tiles}` : 'rendering';
      onProgress({ fraction: (tile * STAGES.length + k) / (tiles * STAGES.length), label: next });
    },
  });
  const t0 = performance.now();
  const image = await renderLinear(res.linear, res.width, res.height, raw, gain);
  timings.push({ stage: 'render (PTP → sRGB)', ms: performance.now() - t0 });
  return { image, linear: res.linear, timings };
}

/** The top-left w×h of an image (restoration crops to a multiple of the model's alignment, the preview does not). */
export function cropRgb8(img: Rgb8, width: number, height: number): Rgb8 {
  if (img.width === width && img.height === height) return img;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) data.set(img.data.subarray(y * img.width * 3, (y * img.width + width) * 3), y * width * 3);
  return { width, height, data };
}

/** RGB → the RGBA a canvas takes. */
export function toImageData(img: Rgb8): ImageData {
  const rgba = new Uint8ClampedArray(img.width * img.height * 4);
  for (let i = 0, j = 0; i < img.data.length; i += 3, j += 4) {
    rgba[j] = img.data[i];
    rgba[j + 1] = img.data[i + 1];
    rgba[j + 2] = img.data[i + 2];
    rgba[j + 3] = 255;
  }
  return new ImageData(rgba, img.width, img.height);
}
