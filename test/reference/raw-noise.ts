/**
 * Float64 reference of the mosaic noise synthesizer (src/raw/noise.ts): plain loops; the normals come from the
 * CPU Philox reference (same (seed, stream, index) → same words as the GPU). Returns the value before rounding
 * too, so a test can tell how close a pixel sat to a rounding boundary.
 */
import { normalArray } from '../../src/random/philox.js';
import type { BayerPattern } from '../../src/raw/bayer-pattern.js';
import { colourAt } from './raw-bayer.js';

export interface MnsRefOptions {
  patterns: readonly BayerPattern[];
  shot: readonly number[];
  read: readonly number[];
  seed: number;
  stream: number;
  quantize?: { blackLevel: number; whiteLevel: number };
}

export function mnsRef(x: ArrayLike<number>, n: number, h: number, w: number, o: MnsRefOptions): { out: Float64Array; preRound: Float64Array } {
  const z = normalArray(o.seed, o.stream, n * h * w);
  const out = new Float64Array(n * h * w);
  const preRound = new Float64Array(n * h * w);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < w; xx++) {
        const t = (b * h + y) * w + xx;
        const v = x[((b * 3 + colourAt(o.patterns[b], y, xx)) * h + y) * w + xx];
        const shot = Math.fround(o.shot[b]);
        const read = Math.fround(o.read[b]);
        const noisy = v + Math.sqrt(Math.max(shot * v + read, 0)) * z[t];
        if (!o.quantize) {
          out[t] = noisy;
          continue;
        }
        const { blackLevel: k, whiteLevel: wl } = o.quantize;
        const pre = k + noisy * (wl - k);
        preRound[t] = pre;
        const q = Math.min(Math.max(Math.floor(pre + 0.5), 0), wl);
        // As the kernel: an exact difference times the float32 reciprocal, one correctly rounded product.
        out[t] = Math.fround((q - k) * Math.fround(1 / (wl - k)));
      }
  return { out, preRound };
}
