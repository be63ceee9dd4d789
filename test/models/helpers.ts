import { tensor, type Tensor } from '../../src/index.js';
import type { Module } from '../../src/nn/index.js';
import { ref, type RefTensor } from '../reference/index.js';
import { makeRng, type Rng } from '../helpers/random.js';
import type { Params } from './composite-ref.js';

/**
 * Gives every parameter of `m` seeded random values of a sensible scale (weights ~ U(±1/√fan_in), norm scales near 1)
 * and returns the same values as float64 references by name.
 */
export function randomizeParams(m: Module, seed: number): Params {
  const rng: Rng = makeRng(seed);
  const out: Params = {};
  const state: Record<string, { shape: readonly number[]; data: Float32Array }> = {};
  for (const [name, p] of m.namedParameters()) {
    const isNorm = /(^|\.)(norm\d?|group_norm|conv_norm_out)\.weight$/.test(name);
    const fanIn = p.ndim >= 2 ? p.shape.slice(1).reduce((a, d) => a * d, 1) : 0;
    const bound = isNorm ? 0.5 : p.ndim >= 2 ? 1 / Math.sqrt(fanIn) : 0.2;
    const data = Float32Array.from({ length: p.size }, () => (isNorm ? 1 : 0) + rng.uniform(-bound, bound));
    state[name] = { shape: p.shape, data };
    out[name] = ref(p.shape, data);
  }
  m.loadStateDict(state);
  return out;
}

/** Seeded random input: an engine tensor and the identical float64 reference. */
export function randomInput(shape: readonly number[], seed: number, requiresGrad = true, lo = -1, hi = 1): { t: Tensor; r: RefTensor } {
  const rng = makeRng(seed);
  const data = Float32Array.from({ length: shape.reduce((a, d) => a * d, 1) }, () => rng.uniform(lo, hi));
  return { t: tensor(data, shape, { requiresGrad }), r: ref(shape, data) };
}

/** Sub-dictionary of parameters under `prefix.` with the prefix removed. */
export function under(p: Params, prefix: string): Params {
  return Object.fromEntries(Object.entries(p).filter(([k]) => k.startsWith(`${prefix}.`)).map(([k, v]) => [k.slice(prefix.length + 1), v]));
}
