import { Tensor } from '../tensor/tensor.js';
import { tensor } from '../ops/creation.js';
import { concat } from './shape-ops.js';
import { unary } from './unary.js';

export interface TimestepEmbeddingOptions {
  /** SD uses cos first (flip_sin_to_cos = True). */
  flipSinToCos?: boolean;
  /** diffusers' downscale_freq_shift (SD: 0; the original DDPM: 1). */
  downscaleFreqShift?: number;
  maxPeriod?: number;
  scale?: number;
}

/**
 * Sinusoidal timestep embedding as diffusers' get_timestep_embedding: half = dim/2 frequencies
 * exp(-ln(maxPeriod) · i / (half − shift)), arguments t · freq · scale, output [sin | cos] (or [cos | sin] when
 * flipped, as SD's UNet does); an odd dim is zero-padded. The frequencies are rounded to float32 at each step
 * exactly as PyTorch computes them in float32, so the arguments are the same floats as diffusers'; the products
 * run on the GPU. Arguments are reduced to [0, 2π) before sin/cos, whose builtins are only accurate near zero on
 * some drivers.
 */
export function timestepEmbedding(t: Tensor | readonly number[], dim: number, opts: TimestepEmbeddingOptions = {}): Tensor {
  if (!Number.isInteger(dim) || dim < 2) throw new Error(`timestepEmbedding: dim must be an integer >= 2, got ${dim}`);
  const half = Math.floor(dim / 2);
  const shift = opts.downscaleFreqShift ?? 0;
  const maxPeriod = opts.maxPeriod ?? 10000;
  const f32 = Math.fround;
  const lnP = f32(-Math.log(maxPeriod));
  const freqs = Array.from({ length: half }, (_, i) => f32(Math.exp(f32(f32(lnP * i) / f32(half - shift)))));
  const ts = t instanceof Tensor ? t : tensor([...t]);
  if (ts.ndim !== 1) throw new Error(`timestepEmbedding: timesteps must be 1-D, got shape [${ts.shape}]`);
  const f = tensor(freqs, [1, half]);
  const col = ts.reshape([ts.shape[0], 1]);
  let args = col.mul(f);
  if (opts.scale !== undefined && opts.scale !== 1) {
    const s = args.mul(opts.scale);
    args.dispose();
    args = s;
  }
  const phase = unary('wrapPhase', args);
  const sin = phase.sin(), cos = phase.cos();
  const parts = opts.flipSinToCos ?? true ? [cos, sin] : [sin, cos];
  let emb = concat(parts, 1);
  for (const x of [f, col, args, phase, sin, cos]) x.dispose();
  if (ts !== t) ts.dispose();
  if (dim % 2) {
    const padded = emb.pad([0, 1]);
    emb.dispose();
    emb = padded;
  }
  return emb;
}
