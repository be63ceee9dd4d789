import type { HostRng } from '../random/host-rng.js';
import { DEFAULT_CAMERA_SAMPLER, type CameraSamplerConfig } from '../raw/camera-params.js';

/**
 * Noise-level bins for `rddm eval`: every synthesised crop has one camera and so one pair of noise variances
 * (λ_shot, λ_read; the mosaic's variance is λ_shot·x + λ_read at linear signal x). A crop's noise level is the
 * standard deviation at mid-grey,
 *
 *   σ(0.18) = sqrt(λ_shot · 0.18 + λ_read)   (normalised RAW units, white = 1),
 *
 * one number that orders crops from nearly clean to the darkest (highest-ISO) scene the synthesis makes.
 *
 * The bin edges come from the camera sampler's range, not from the crops drawn, so bins mean the same in every run:
 * σ on Brooks' line (no scatter) at the two ends of λ_shot's range, split evenly in log σ. With the default sampler
 * that is 0.0042 … 0.049. The read-noise scatter puts a few crops outside it; they count in the end bins (bin 0 is
 * σ < e₁, the last bin σ ≥ e_{n-1}). Inside, bin i holds e_i ≤ σ < e_{i+1}: a value on an inner edge belongs to the
 * bin above it.
 */
export const NOISE_REF_SIGNAL = 0.18;

/** σ at mid-grey for noise variances λ_shot, λ_read. */
export function noiseSigma(shotNoise: number, readNoise: number): number {
  return Math.sqrt(shotNoise * NOISE_REF_SIGNAL + readNoise);
}

/** λ_read on the sampler's line for a given λ_shot, with scatter `z` (natural-log units). */
function readOnLine(logShot: number, cfg: Readonly<CameraSamplerConfig>, z = 0): number {
  return Math.exp(cfg.readNoiseSlope * logShot + cfg.readNoiseIntercept + z);
}

/** [σ_low, σ_high]: σ(0.18) on the sampler's line at the ends of its λ_shot range. */
export function noiseRange(camera: Partial<CameraSamplerConfig> = {}): [number, number] {
  const cfg = { ...DEFAULT_CAMERA_SAMPLER, ...camera };
  const at = (shot: number) => noiseSigma(shot, readOnLine(Math.log(shot), cfg));
  return [at(cfg.shotNoiseRange[0]), at(cfg.shotNoiseRange[1])];
}

/** n + 1 ascending edges splitting [low, high] evenly in log σ. */
export function noiseBinEdges(n: number, [low, high]: readonly [number, number]): number[] {
  if (!Number.isInteger(n) || n < 2) throw new Error(`noiseBinEdges: need an integer number of bins >= 2, got ${n}`);
  if (!(low > 0 && high > low)) throw new Error(`noiseBinEdges: need 0 < low < high, got [${low}, ${high}]`);
  const [a, b] = [Math.log(low), Math.log(high)];
  // The ends are the given values exactly, not exp(log(·)), so a σ computed at the range's end lands where expected.
  return Array.from({ length: n + 1 }, (_, i) => (i === 0 ? low : i === n ? high : Math.exp(a + ((b - a) * i) / n)));
}

/** The bin of σ: e_i ≤ σ < e_{i+1}, with values outside the edges in the end bins. */
export function noiseBinOf(sigma: number, edges: readonly number[]): number {
  const n = edges.length - 1;
  let bin = 0;
  for (let i = 1; i < n; i++) if (sigma >= edges[i]) bin = i;
  return bin;
}

/**
 * Noise variances with σ(0.18) log-uniform inside bin `bin` (for `rddm eval --noise-sweep`). The read noise keeps
 * the sampler's relation to the shot noise, scatter included: draw the scatter z, then solve
 * λ_shot·0.18 + λ_read(λ_shot, z) = σ² for λ_shot (strictly increasing in λ_shot, so bisection in log λ_shot).
 */
export function sampleNoiseInBin(rng: HostRng, bin: number, edges: readonly number[], camera: Partial<CameraSamplerConfig> = {}): { shotNoise: number; readNoise: number } {
  const cfg = { ...DEFAULT_CAMERA_SAMPLER, ...camera };
  if (!(bin >= 0 && bin < edges.length - 1)) throw new Error(`sampleNoiseInBin: bin ${bin} is outside 0…${edges.length - 2}`);
  const sigma = Math.exp(rng.range(Math.log(edges[bin]), Math.log(edges[bin + 1])));
  const z = rng.normal(0, cfg.readNoiseStd);
  const variance = sigma * sigma;
  let [lo, hi] = [-60, 0];
  for (let k = 0; k < 200 && hi - lo > 1e-13; k++) {
    const mid = (lo + hi) / 2;
    if (Math.exp(mid) * NOISE_REF_SIGNAL + readOnLine(mid, cfg, z) < variance) lo = mid;
    else hi = mid;
  }
  const shotNoise = Math.exp((lo + hi) / 2);
  // λ_read takes what λ_shot leaves, so σ(0.18) is the drawn value up to rounding, inside the bin.
  return { shotNoise, readNoise: Math.max(1e-30, variance - shotNoise * NOISE_REF_SIGNAL) };
}

/**
 * A camera-sampler override that makes sampleCameraParams return exactly these noise levels while drawing every
 * other camera parameter (matrix, gains) as it would have: the noise draws still consume their random numbers.
 */
export function fixedNoiseCamera(camera: Partial<CameraSamplerConfig>, noise: { shotNoise: number; readNoise: number }): Partial<CameraSamplerConfig> {
  const slope = camera.readNoiseSlope ?? DEFAULT_CAMERA_SAMPLER.readNoiseSlope;
  const logShot = Math.log(noise.shotNoise);
  return { ...camera, shotNoiseRange: [noise.shotNoise, noise.shotNoise], readNoiseStd: 0, readNoiseIntercept: Math.log(noise.readNoise) - slope * logShot };
}
