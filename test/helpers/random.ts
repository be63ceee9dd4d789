/**
 * Seeded host randomness for test inputs: the same seed gives the same inputs on every run and machine, so a
 * failure reproduces. (This is not the engine's Philox generator; tests of that compare against
 * src/random/philox.ts.)
 */
import { numel, ref, type RefTensor } from '../reference/ref-tensor.js';

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  uniform(lo: number, hi: number): number;
  /** Integer in [0, n). */
  int(n: number): number;
  normal(): number;
}

/** mulberry32: tiny, fast and good enough to pick test values. */
export function makeRng(seed: number): Rng {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    int: (n) => Math.floor(next() * n),
    normal: () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()),
  };
}

/** A 32-bit FNV-1a hash, to derive a stable seed from a test's name. */
export function seedOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * A RefTensor of uniform values in [lo, hi), rounded to float32 so the engine and the float64 reference see
 * exactly the same inputs.
 */
export function randomRef(rng: Rng, shape: readonly number[], lo = -2, hi = 2): RefTensor {
  return ref(shape, Array.from({ length: numel(shape) }, () => Math.fround(rng.uniform(lo, hi))));
}

/** Small integers in [lo, hi] (as floats): inputs with deliberate ties and exact equalities. */
export function randomIntRef(rng: Rng, shape: readonly number[], lo: number, hi: number): RefTensor {
  return ref(shape, Array.from({ length: numel(shape) }, () => lo + rng.int(hi - lo + 1)));
}
