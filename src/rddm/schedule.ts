/**
 * Stable Diffusion's noise schedule: "scaled linear" betas (linear in sqrt(beta)) from 0.00085 to 0.012 over
 * 1000 steps; ᾱ_t is the cumulative product of (1 - β). Computed in float64 on the host.
 */
export class NoiseSchedule {
  readonly betas: Float64Array;
  readonly alphasCumprod: Float64Array;

  constructor(
    readonly steps = 1000,
    betaStart = 0.00085,
    betaEnd = 0.012,
  ) {
    this.betas = new Float64Array(steps);
    this.alphasCumprod = new Float64Array(steps);
    const a = Math.sqrt(betaStart), b = Math.sqrt(betaEnd);
    let prod = 1;
    for (let t = 0; t < steps; t++) {
      const s = steps === 1 ? a : a + ((b - a) * t) / (steps - 1);
      this.betas[t] = s * s;
      prod *= 1 - this.betas[t];
      this.alphasCumprod[t] = prod;
    }
  }

  alphaBar(t: number): number {
    if (!Number.isInteger(t) || t < 0 || t >= this.steps) throw new Error(`timestep ${t} is outside [0, ${this.steps - 1}]`);
    return this.alphasCumprod[t];
  }

  /** Evenly spaced inference timesteps from `start` down to 0 (as DDIM's "leading" spacing, descending). */
  timesteps(count: number, start = this.steps - 1): number[] {
    if (!(count >= 1)) throw new Error(`steps must be >= 1, got ${count}`);
    const out: number[] = [];
    for (let i = 0; i < count; i++) out.push(Math.round(start - (start * i) / count));
    return out;
  }
}
