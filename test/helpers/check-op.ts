/**
 * The one op-test helper: runs an engine expression on the GPU and its float64 reference on the CPU over the
 * same seeded inputs, compares the forward, then (with `grad`) pushes one random upstream gradient through both
 * and compares every input's gradient. It also checks that the expression and its backward leave no tensor or
 * GPU buffer behind.
 */
import { expect } from 'vitest';
import { liveStats, tensor, tidy, type Tensor } from '../../src/index.js';
import { detachRef, refGrads, unravel, type RefTensor } from '../reference/ref-tensor.js';
import { makeRng, randomRef, seedOf } from './random.js';

/** An input: a shape (random values), fixed values, or a shape with its own range / no gradient. */
export type InputSpec =
  | readonly number[]
  | RefTensor
  | { shape?: readonly number[]; value?: RefTensor; range?: readonly [number, number]; grad?: boolean };

export interface CheckOpOptions {
  inputs: readonly InputSpec[];
  engine: (...inputs: Tensor[]) => Tensor;
  reference: (...inputs: RefTensor[]) => RefTensor;
  /** Also compare gradients of every input (except those marked `grad: false`). */
  grad?: boolean;
  atol?: number;
  rtol?: number;
  /** Gradient tolerances (default: the forward ones). */
  gradAtol?: number;
  gradRtol?: number;
  /** Range of random input values (default [-2, 2], or [0.25, 2] with `positive`). */
  inputRange?: readonly [number, number];
  positive?: boolean;
  /** Default: a hash of the name, so every check has its own reproducible inputs. */
  seed?: number;
}

interface Tol {
  atol: number;
  rtol: number;
}

/**
 * Fails naming the worst element (by error relative to the allowed tolerance), its index and both values.
 * NaN must meet NaN, and infinities must match the reference rounded to float32.
 */
export function expectClose(what: string, actual: ArrayLike<number>, expected: RefTensor, tol: Tol): void {
  const n = expected.data.length;
  if (actual.length !== n) throw new Error(`${what}: engine gave ${actual.length} elements, reference ${n} (shape [${expected.shape}])`);
  let worst = -1;
  let worstScore = 0;
  let bad = 0;
  for (let i = 0; i < n; i++) {
    const a = actual[i];
    const e = expected.data[i];
    let score: number;
    // Equal to the reference rounded to float32 is always right (it covers overflow to ±Infinity).
    if (a === Math.fround(e)) score = 0;
    else if (Number.isNaN(e)) score = Number.isNaN(a) ? 0 : Infinity;
    else if (!Number.isFinite(e) || !Number.isFinite(a)) score = a === e ? 0 : Infinity;
    else score = Math.abs(a - e) / (tol.atol + tol.rtol * Math.abs(e));
    if (score > 1) bad++;
    if (score > worstScore || (score === Infinity && worst < 0)) {
      worstScore = score;
      worst = i;
    }
  }
  if (bad === 0) return;
  const a = actual[worst];
  const e = expected.data[worst];
  throw new Error(
    `${what}: ${bad} of ${n} elements differ beyond atol=${tol.atol}, rtol=${tol.rtol} (shape [${expected.shape}]). ` +
      `Worst at index [${unravel(worst, expected.shape)}] (flat ${worst}): engine ${a}, reference ${e}, |diff| ${Math.abs(a - e)}`,
  );
}

function normalise(spec: InputSpec): { shape?: readonly number[]; value?: RefTensor; range?: readonly [number, number]; grad?: boolean } {
  if (Array.isArray(spec)) return { shape: spec as readonly number[] };
  if ('data' in (spec as object)) return { value: spec as RefTensor };
  return spec as Exclude<InputSpec, readonly number[] | RefTensor>;
}

function upload(r: RefTensor, requiresGrad: boolean): Tensor {
  return tensor(Float32Array.from(r.data), r.shape, { requiresGrad });
}

export async function checkOp(name: string, o: CheckOpOptions): Promise<void> {
  const rng = makeRng(o.seed ?? seedOf(name));
  const range = o.inputRange ?? (o.positive ? [0.25, 2] : [-2, 2]);
  const specs = o.inputs.map(normalise);
  const values = specs.map((s) => s.value ?? randomRef(rng, s.shape ?? [], ...(s.range ?? range)));
  const wantGrad = specs.map((s) => Boolean(o.grad) && s.grad !== false);
  const fwdTol = { atol: o.atol ?? 1e-5, rtol: o.rtol ?? 1e-4 };
  const gradTol = { atol: o.gradAtol ?? fwdTol.atol, rtol: o.gradRtol ?? fwdTol.rtol };

  const before = { storages: liveStats.storages, tensors: liveStats.tensors };
  const leaves = values.map(detachRef);
  const refOut = o.reference(...leaves);
  const xs = values.map((v, i) => upload(v, wantGrad[i]));
  let out: Tensor | null = null;
  try {
    // tidy frees the expression's intermediates (views, temporaries) while the graph stays differentiable.
    out = tidy(() => o.engine(...xs));
    expect(out.shape, `${name}: output shape`).toEqual(refOut.shape);
    expectClose(`${name} forward`, await out.data(), refOut, fwdTol);
    if (o.grad) {
      const up = randomRef(rng, refOut.shape, -1, 1);
      const upT = upload(up, false);
      try {
        await out.backward({ grad: upT });
      } finally {
        upT.dispose();
      }
      const refG = refGrads(refOut, up, leaves);
      for (let i = 0; i < xs.length; i++) {
        if (!wantGrad[i]) continue;
        const g = xs[i].grad;
        const what = `${name} gradient of input ${i} (shape [${values[i].shape}])`;
        if (!g) {
          expectClose(what, new Float64Array(refG[i].data.length), refG[i], gradTol);
          continue;
        }
        expect(g.shape, `${what}: shape`).toEqual(values[i].shape);
        expectClose(what, await g.data(), refG[i], gradTol);
      }
    }
  } finally {
    if (out && !xs.includes(out)) out.dispose();
    for (const x of xs) {
      x.grad?.dispose();
      x.grad = null;
      x.dispose();
    }
  }
  const leaked = { storages: liveStats.storages - before.storages, tensors: liveStats.tensors - before.tensors };
  expect(leaked, `${name}: tensors/storages left alive after forward${o.grad ? ' + backward' : ''}`).toEqual({ storages: 0, tensors: 0 });
}
