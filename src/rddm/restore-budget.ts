// Whether a restoration fits the device before any GPU work starts: one tile's largest activation against
// maxStorageBufferBindingSize (a hard WebGPU limit), one tile's working set and the full-resolution result on the
// host against a memory budget. A restore that would not fit is refused up front with the limit, the size and the
// option that fixes it (--tile, --bin, --max-memory), instead of failing minutes in with an allocation error.

import { estimateUNetActivations, estimateVaeActivations } from '../models/activation-estimate.js';
import { vaeDownscale, type UNetConfig, type VaeConfig } from '../models/configs.js';

/** Default memory budget: what one restore may use on the GPU (one tile) and on the host (the whole image). */
export const DEFAULT_MEMORY_BUDGET = 4 * 2 ** 30;

/**
 * Host bytes per output pixel: the normalised mosaic (4), the weighted RGB sum and its weights (12 + 4), and the
 * sRGB and 16-bit linear renderings written at the end (3 + 6).
 */
const HOST_BYTES_PER_PIXEL = 29;

export interface RestoreLimits {
  /** The device's maxStorageBufferBindingSize. */
  bindingBytes: number;
  /** Bytes one tile's activations and the whole image's host buffers may each take. */
  budgetBytes: number;
}

const mib = (b: number): string => (b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(1)} GiB` : `${(b / 2 ** 20).toFixed(1)} MiB`);

/** The largest activation and the inference working set of one th × tw tile: raw encoder + VAE decoder + UNet. */
export function tileCost(vae: VaeConfig, unet: UNetConfig, th: number, tw: number): { largestBytes: number; largestAt: string; peakBytes: number } {
  // The VAE estimate covers encode + decode at full resolution (the raw encoder has the VAE encoder's shape).
  const v = estimateVaeActivations(vae, th, tw);
  const f = vaeDownscale(vae);
  const u = estimateUNetActivations(unet, Math.max(1, Math.floor(th / f)), Math.max(1, Math.floor(tw / f)));
  const vaeWins = v.largestTensorBytes >= u.largestTensorBytes;
  return {
    largestBytes: vaeWins ? v.largestTensorBytes : u.largestTensorBytes,
    largestAt: vaeWins ? v.largestTensor : `unet ${u.largestTensor}`,
    peakBytes: Math.max(v.inferencePeakBytes, u.inferencePeakBytes),
  };
}

/**
 * Throws unless restoring a height × width image in th × tw tiles fits `limits`; the message names the limit, the
 * size, and the largest --tile (a multiple of `align`) that would fit, or the --bin factor for the host side.
 */
export function checkRestoreFits(vae: VaeConfig, unet: UNetConfig, height: number, width: number, th: number, tw: number, align: number, limits: RestoreLimits): void {
  const host = HOST_BYTES_PER_PIXEL * height * width;
  if (host > limits.budgetBytes) {
    const bin = Math.ceil(Math.sqrt(host / limits.budgetBytes));
    throw new Error(
      `restore: a ${width}x${height} image needs ~${mib(host)} of host memory for its full-resolution result, over the ${mib(limits.budgetBytes)} memory budget; ` +
        `use --bin ${bin} (a ${bin}x smaller preview) or raise --max-memory`,
    );
  }
  const fits = (h: number, w: number): boolean => {
    const c = tileCost(vae, unet, h, w);
    return c.largestBytes <= limits.bindingBytes && c.peakBytes <= limits.budgetBytes;
  };
  if (fits(th, tw)) return;
  const cost = tileCost(vae, unet, th, tw);
  let side = Math.max(th, tw) - align;
  while (side >= align && !fits(Math.min(th, side), Math.min(tw, side))) side -= align;
  const hint = side >= align ? `use --tile ${side} or smaller` : `no tile of at least ${align} pixels fits this device`;
  if (cost.largestBytes > limits.bindingBytes) {
    throw new Error(
      `restore: a ${tw}x${th} tile needs a ${mib(cost.largestBytes)} tensor (${cost.largestAt}), over this device's maxStorageBufferBindingSize of ${mib(limits.bindingBytes)}; ${hint}`,
    );
  }
  throw new Error(`restore: a ${tw}x${th} tile needs ~${mib(cost.peakBytes)} of GPU memory, over the ${mib(limits.budgetBytes)} memory budget (--max-memory); ${hint}`);
}
