import kernel from '../../shaders/mosaic-noise.wgsl';
import philoxLib from '../../shaders/philox-lib.wgsl';
import { isGradEnabled } from '../autograd/graph.js';
import { Tensor, empty } from '../tensor/tensor.js';
import { numel, shapeStr } from '../tensor/shape.js';
import { contiguous } from '../ops/copy.js';
import { workgroups1d } from '../ops/dispatch.js';
import { seedKey } from '../random/philox.js';
import { patternCode, patternsPerImage } from './bayer-pattern.js';
import type { Patterns } from './bayer.js';
import { uploadWords } from './gpu-words.js';

const source = `${philoxLib}\n${kernel}`;

/** An ADC: integer codes 0 … whiteLevel with the signal's zero at blackLevel. */
export interface QuantizeConfig {
  bitDepth: number;
  blackLevel: number;
  whiteLevel: number;
}

export interface MnsOptions {
  /** CFA pattern, one for the batch or one per image. */
  patterns: Patterns;
  /** λ_shot and λ_read (variances; see camera-params.ts), one for the batch or one per image. */
  shotNoise: number | readonly number[];
  readNoise: number | readonly number[];
  /** The noise is element t of the Philox draw (seed, stream) over the flat [N,H,W] mosaic: randn's numbers. */
  seed: number;
  stream?: number;
  /** Quantise to a sensor's codes and back to [0, 1] (relative to black and white); off by default. */
  quantize?: QuantizeConfig | null;
}

function perImage(op: string, name: string, v: number | readonly number[], n: number): number[] {
  const list = typeof v === 'number' ? new Array<number>(n).fill(v) : [...v];
  if (list.length !== n) throw new Error(`${op}: got ${list.length} values of ${name} for a batch of ${n} images; pass one or one per image`);
  if (list.some((x) => !(x >= 0) || !Number.isFinite(x))) throw new Error(`${op}: ${name} must be finite and non-negative, got [${list}]`);
  return list;
}

function checkQuantize(q: QuantizeConfig): void {
  const { bitDepth: b, blackLevel: k, whiteLevel: w } = q;
  // Codes must be exact in float32 (24 bits), and black < white within the code range.
  if (!Number.isInteger(b) || b < 1 || b > 24) throw new Error(`mosaicNoise: bitDepth must be an integer in [1, 24], got ${b}`);
  if (!Number.isInteger(k) || !Number.isInteger(w) || k < 0 || w <= k || w > 2 ** b - 1) {
    throw new Error(`mosaicNoise: need integer levels 0 <= blackLevel < whiteLevel <= ${2 ** b - 1} for ${b} bits, got black ${k}, white ${w}`);
  }
}

/**
 * The mosaic noise synthesizer: camera-linear RGB [N,3,H,W] → noisy mosaic [N,1,H,W], in one kernel:
 * mosaic with each image's pattern, y = x + N(0, λ_shot·x + λ_read), optional quantisation. Heteroscedastic
 * Gaussian noise is Brooks' approximation of Poisson shot noise plus Gaussian read noise; the output is not
 * clipped (as Brooks), except by the ADC when quantising. Data synthesis only: no gradient.
 */
export function mosaicNoise(rgb: Tensor, opts: MnsOptions): Tensor {
  const op = 'mosaicNoise';
  if (rgb.ndim !== 4 || rgb.shape[1] !== 3) throw new Error(`${op}: expected camera RGB of shape [N,3,H,W], got ${shapeStr(rgb.shape)}`);
  if (isGradEnabled() && rgb.requiresGrad) throw new Error(`${op}: data synthesis has no gradient; call it on a detached tensor or under noGrad()`);
  const [n, , h, w] = rgb.shape;
  const patterns = patternsPerImage(op, opts.patterns, n);
  const shot = perImage(op, 'shotNoise', opts.shotNoise, n);
  const read = perImage(op, 'readNoise', opts.readNoise, n);
  const q = opts.quantize ?? null;
  if (q) checkQuantize(q);
  const [k0, k1] = seedKey(opts.seed);
  const stream = opts.stream ?? 0;
  if (!Number.isInteger(stream) || stream < 0 || stream >= 2 ** 32) throw new Error(`${op}: stream must be a 32-bit non-negative integer, got ${stream}`);

  const words = new Uint32Array(4 * n);
  const asFloat = new Float32Array(words.buffer);
  patterns.forEach((pat, i) => {
    words[4 * i] = patternCode(pat);
    asFloat[4 * i + 1] = shot[i];
    asFloat[4 * i + 2] = read[i];
  });
  const table = uploadWords(words);
  const src = contiguous(rgb);
  const out = empty([n, 1, h, w]);
  const total = numel(out.shape);
  if (total > 0) {
    const u = new Uint32Array(16);
    const f = new Float32Array(u.buffer);
    u.set([n, h, w, total, src.offset, k0, k1, stream, q ? 1 : 0]);
    if (q) f.set([q.blackLevel, q.whiteLevel - q.blackLevel, 1 / (q.whiteLevel - q.blackLevel), q.whiteLevel], 9);
    const dev = out.device;
    dev.dispatch({
      name: 'mosaic_noise',
      pipeline: dev.pipeline('mosaic_noise', source, { WG: 64 }),
      buffers: [src.binding, table.binding, out.binding],
      uniform: u,
      workgroups: workgroups1d(dev, Math.ceil(total / 4), 64),
      bytes: 8 * total,
    });
  }
  if (src !== rgb) src.dispose();
  table.dispose();
  return out;
}
