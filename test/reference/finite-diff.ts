/**
 * Checks a reference op's hand-written backward against central finite differences in float64: for a random
 * upstream gradient g, d/dx_i sum(g * f(x)) ~ (L(x + h e_i) - L(x - h e_i)) / 2h, with error O(h^2) + O(eps/h).
 */
import { detachRef, refGrads, ref, unravel, type RefTensor } from './ref-tensor.js';
import { makeRng, randomRef, seedOf } from '../helpers/random.js';

export interface FdOptions {
  /** Which inputs to differentiate (default: all). */
  wrt?: readonly number[];
  h?: number;
  atol?: number;
  rtol?: number;
}

function loss(f: (...x: RefTensor[]) => RefTensor, inputs: readonly RefTensor[], g: RefTensor): number {
  const y = f(...inputs.map(detachRef));
  let s = 0;
  for (let i = 0; i < y.data.length; i++) s += g.data[i] * y.data[i];
  return s;
}

/** Throws naming the worst element if the analytic and numeric gradients differ. */
export function checkRefGrad(name: string, f: (...x: RefTensor[]) => RefTensor, inputs: readonly RefTensor[], o: FdOptions = {}): void {
  const h = o.h ?? 1e-6;
  const atol = o.atol ?? 1e-7;
  const rtol = o.rtol ?? 1e-6;
  const rng = makeRng(seedOf(`fd:${name}`));
  const leaves = inputs.map(detachRef);
  const y = f(...leaves);
  const g = randomRef(rng, y.shape, -1, 1);
  const analytic = refGrads(y, g, leaves);
  for (const k of o.wrt ?? inputs.map((_, i) => i)) {
    const x = inputs[k];
    for (let i = 0; i < x.data.length; i++) {
      const plus = inputs.map((t, j) => (j === k ? ref(t.shape, t.data) : t));
      const minus = inputs.map((t, j) => (j === k ? ref(t.shape, t.data) : t));
      plus[k].data[i] += h;
      minus[k].data[i] -= h;
      const numeric = (loss(f, plus, g) - loss(f, minus, g)) / (2 * h);
      const a = analytic[k].data[i];
      if (!(Math.abs(a - numeric) <= atol + rtol * Math.abs(numeric))) {
        throw new Error(
          `${name}: d/d input ${k} at [${unravel(i, x.shape)}] (value ${x.data[i]}): backward ${a}, finite difference ${numeric}`,
        );
      }
    }
  }
}
