/**
 * Variance stabilisation of the synthesiser's heteroscedastic noise, z = x + N(0, a·x + b) with a = λ_shot and
 * b = λ_read (src/raw/noise.ts), so that a denoiser for white noise of σ = 1 applies.
 *
 * Forward: the generalised Anscombe transform f(z) = (2/a)·√max(a·z + c, 0). With u = a·x + c and s² = a·x + b,
 * a Taylor expansion of f about x gives Var f(z) ≈ f'²s² + ½f''²s⁴ + f'f'''s⁴ = s²/u + a²/(8u) + 3a²/(4u): c = b
 * stabilises to first order, and c = b + 7a²/8 also cancels the a²/u terms. (Poisson–Gaussian data take
 * Mäkitalo & Foi's 3/8 because the Poisson's own skewness enters; our synthetic noise is Gaussian.) Checked
 * numerically: at λ_shot = 0.01 the variance is within 1% of 1 for x ≥ 0.1 (10% with c = b). Where x is
 * within a few σ of zero no constant helps; the clip at a·z + c < 0 is then active.
 *
 * Inverse: f is concave, so E[f(z)] < f(x) and the algebraic inverse is biased dark, worst in shadows. The
 * exact unbiased inverse (Mäkitalo & Foi 2011/2013) maps a denoised value D back to the x with E[f(z) | x] = D.
 * Their closed form is for Poisson–Gaussian data; for this noise we tabulate E[f(z) | x] by numerical
 * integration over the Gaussian (the clip at a·z + c < 0 included) and invert the monotone table.
 */
export interface NoiseModel {
  /** λ_shot: variance per unit of signal. */
  shot: number;
  /** λ_read: signal-independent variance. */
  read: number;
}

/** Below this λ_shot the noise is treated as homoscedastic (f is then linear and its own unbiased inverse). */
const MIN_SHOT = 1e-9;
/** The table covers x ∈ [0, X_MAX], denser near 0 where f bends most. */
const X_MAX = 2;
const TABLE_SIZE = 1024;
/** Integration over n ∈ [−8, 8] in steps of 1/32 (trapezoid; the Gaussian weight is below 1e-14 at the ends). */
const N_RANGE = 8;
const N_STEPS = 512;

export interface Vst {
  readonly model: NoiseModel;
  forward(z: number): number;
  /** The exact unbiased inverse: the x ≥ 0 whose expected transformed value is d. */
  inverse(d: number): number;
}

function checkModel(m: NoiseModel): void {
  if (!(m.shot >= 0) || !(m.read >= 0) || !Number.isFinite(m.shot) || !Number.isFinite(m.read) || m.shot + m.read <= 0) {
    throw new Error(`vst: noise levels must be finite, non-negative and not both zero, got λ_shot ${m.shot}, λ_read ${m.read}`);
  }
}

export function makeVst(model: NoiseModel): Vst {
  checkModel(model);
  const { shot: a, read: b } = model;
  if (a < MIN_SHOT) {
    // The (negligible) shot term is taken at mid-grey, so λ_read = 0 with a tiny λ_shot still divides by > 0.
    const s = Math.sqrt(b + a * 0.5);
    return { model, forward: (z) => z / s, inverse: (d) => Math.max(d * s, 0) };
  }
  const c = b + (7 * a * a) / 8;
  const forward = (z: number): number => {
    const u = a * z + c;
    return u > 0 ? (2 / a) * Math.sqrt(u) : 0;
  };

  // E[f(z) | x] on a grid x_i = X_MAX·(i/(M−1))².
  const xs = new Float64Array(TABLE_SIZE);
  const ef = new Float64Array(TABLE_SIZE);
  const dn = (2 * N_RANGE) / N_STEPS;
  const weights = Float64Array.from({ length: N_STEPS + 1 }, (_, k) => {
    const n = -N_RANGE + k * dn;
    return (Math.exp(-0.5 * n * n) / Math.sqrt(2 * Math.PI)) * dn * (k === 0 || k === N_STEPS ? 0.5 : 1);
  });
  for (let i = 0; i < TABLE_SIZE; i++) {
    const x = X_MAX * (i / (TABLE_SIZE - 1)) ** 2;
    const sd = Math.sqrt(a * x + b);
    let e = 0;
    for (let k = 0; k <= N_STEPS; k++) e += weights[k] * forward(x + sd * (-N_RANGE + k * dn));
    xs[i] = x;
    ef[i] = e;
  }
  const inverse = (d: number): number => {
    if (!(d > ef[0])) return 0;
    const last = TABLE_SIZE - 1;
    if (d >= ef[last]) {
      // Beyond the table the bias is negligible: the algebraic inverse, shifted to meet the table's end.
      const alg = (v: number) => ((a * v) / 2) ** 2 / a - c / a;
      return xs[last] + alg(d) - alg(ef[last]);
    }
    let lo = 0;
    let hi = last;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (ef[mid] <= d) lo = mid;
      else hi = mid;
    }
    const t = (d - ef[lo]) / (ef[hi] - ef[lo]);
    return xs[lo] + t * (xs[hi] - xs[lo]);
  };
  return { model, forward, inverse };
}
