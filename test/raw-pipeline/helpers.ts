import { expect } from 'vitest';
import { HostRng } from '../../src/random/host-rng.js';

/** Deterministic test data in [lo, hi). */
export function randomArray(seed: number, n: number, lo = 0, hi = 1): Float32Array {
  const rng = new HostRng(seed, 7);
  return Float32Array.from({ length: n }, () => rng.range(lo, hi));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Asserts |a − b| ≤ atol + rtol·|b| elementwise, reporting the worst element. */
export function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, atol: number, rtol = 0, what = 'values'): void {
  expect(a.length).toBe(b.length);
  let worst = -1;
  let excess = 0;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i] - b[i]) - (atol + rtol * Math.abs(b[i]));
    if (!(e <= excess)) {
      excess = Number.isNaN(e) ? Infinity : e;
      worst = i;
    }
  }
  if (worst >= 0) expect.fail(`${what}: element ${worst} is ${a[worst]}, expected ${b[worst]} (atol ${atol}, rtol ${rtol})`);
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
