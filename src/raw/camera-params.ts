import { HostRng } from '../random/host-rng.js';

/**
 * Random camera parameters for synthesising RAW data from sRGB images (Brooks et al. 2019, "Unprocessing Images
 * for Learned Raw Denoising", with the constants of docs/rddm-design.md). Everything is drawn on the host from a
 * seeded HostRng, in float64, so a seed reproduces a whole batch's metadata exactly.
 */
export type Mat3 = [[number, number, number], [number, number, number], [number, number, number]];
export type Vec3 = [number, number, number];

/** The four XYZ → camera matrices Brooks mixes (from real cameras). */
export const XYZ2CAM_BASIS: readonly Mat3[] = [
  [[1.0234, -0.2969, -0.2266], [-0.5625, 1.6328, -0.0469], [-0.0703, 0.2188, 0.6406]],
  [[0.4913, -0.0541, -0.0202], [-0.613, 1.3513, 0.2906], [-0.1564, 0.2151, 0.7183]],
  [[0.838, -0.263, -0.0639], [-0.2887, 1.0725, 0.2496], [-0.0627, 0.1427, 0.5438]],
  [[0.6596, -0.2079, -0.0562], [-0.4782, 1.3016, 0.1933], [-0.097, 0.1581, 0.5181]],
];

/** Linear sRGB (D65) → XYZ, with Brooks' digits. */
export const SRGB2XYZ: Mat3 = [
  [0.4124564, 0.3575761, 0.1804375],
  [0.2126729, 0.7151522, 0.072175],
  [0.0193339, 0.119192, 0.9503041],
];

export interface CameraParams {
  /** Convex mix of XYZ2CAM_BASIS. */
  xyz2cam: Mat3;
  /** normalise_rows(xyz2cam · srgb2xyz): linear sRGB → camera, camera white = sRGB white. */
  rgb2cam: Mat3;
  /** inverse(rgb2cam): what PTP applies. */
  cam2rgb: Mat3;
  /** Brightness factor 1 / N(0.8, 0.1). */
  rgbGain: number;
  /** White-balance gains of red and blue relative to green. */
  redGain: number;
  blueGain: number;
  /** PTP's white-balance multipliers [red, 1, blue] · rgbGain: they undo IPTP's inverse gains exactly. */
  wbGains: Vec3;
  /** Heteroscedastic noise: variance λ_shot·x + λ_read for a linear signal x in [0, 1]. */
  shotNoise: number;
  readNoise: number;
}

/** Ranges of the sampler, in one place (defaults are docs/rddm-design.md's). */
export interface CameraSamplerConfig {
  rgbGainMean: number;
  rgbGainStd: number;
  redGainRange: [number, number];
  blueGainRange: [number, number];
  shotNoiseRange: [number, number];
  /** log λ_read = slope · log λ_shot + intercept + N(0, std), natural logs. */
  readNoiseSlope: number;
  readNoiseIntercept: number;
  readNoiseStd: number;
  /**
   * Probability that λ_shot is drawn log-uniform in the top quarter of its log range (the darkest scenes, about
   * `rddm eval`'s last noise bin) instead of the whole range: more of the training on the noise where the model is
   * weakest. 0 (default) draws nothing extra, so cameras are the same as before it existed.
   */
  darkProb: number;
}

export const DEFAULT_CAMERA_SAMPLER: Readonly<CameraSamplerConfig> = {
  rgbGainMean: 0.8,
  rgbGainStd: 0.1,
  redGainRange: [1.9, 2.4],
  blueGainRange: [1.5, 1.9],
  shotNoiseRange: [1e-4, 1.2e-2],
  readNoiseSlope: 2.18,
  readNoiseIntercept: 1.2,
  readNoiseStd: 0.26,
  darkProb: 0,
};

export function matMul3(a: Mat3, b: Mat3): Mat3 {
  const out: Mat3 = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) out[i][j] = a[i][0] * b[0][j] + a[i][1] * b[1][j] + a[i][2] * b[2][j];
  return out;
}

/** Inverse by cofactors in float64; throws on a singular matrix (a sampled CCM never is). */
export function invert3(m: Mat3): Mat3 {
  const [[a, b, c], [d, e, f], [g, h, i]] = m;
  const A = e * i - f * h;
  const B = f * g - d * i;
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  if (!Number.isFinite(det) || Math.abs(det) < 1e-12) throw new Error(`invert3: matrix ${JSON.stringify(m)} is singular (det ${det})`);
  const k = 1 / det;
  return [
    [A * k, (c * h - b * i) * k, (b * f - c * e) * k],
    [B * k, (a * i - c * g) * k, (c * d - a * f) * k],
    [C * k, (b * g - a * h) * k, (a * e - b * d) * k],
  ];
}

/** rgb2cam = xyz2cam · srgb2xyz with rows scaled to sum 1, and its inverse. */
export function colorMatricesFromXyz2cam(xyz2cam: Mat3): { rgb2cam: Mat3; cam2rgb: Mat3 } {
  const rgb2cam = matMul3(xyz2cam, SRGB2XYZ);
  for (const row of rgb2cam) {
    const s = row[0] + row[1] + row[2];
    for (let j = 0; j < 3; j++) row[j] /= s;
  }
  return { rgb2cam, cam2rgb: invert3(rgb2cam) };
}

/**
 * A random convex combination of the four camera matrices. As Brooks: independent uniform weights normalised to
 * sum 1 (not uniform on the simplex; it favours even mixes, which keeps the matrices well conditioned).
 */
export function randomXyz2cam(rng: HostRng): Mat3 {
  const w = XYZ2CAM_BASIS.map(() => rng.range(1e-8, 1));
  const total = w.reduce((s, v) => s + v, 0);
  const out: Mat3 = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
  XYZ2CAM_BASIS.forEach((m, k) => {
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) out[i][j] += (w[k] / total) * m[i][j];
  });
  return out;
}

/** λ_shot log-uniform in its range (or its top quarter, cfg.darkProb); log λ_read on Brooks' line through it plus Gaussian scatter. */
export function randomNoiseLevels(rng: HostRng, cfg: Readonly<CameraSamplerConfig> = DEFAULT_CAMERA_SAMPLER): { shotNoise: number; readNoise: number } {
  const [lo, hi] = [Math.log(cfg.shotNoiseRange[0]), Math.log(cfg.shotNoiseRange[1])];
  // The extra draw happens only where darkProb > 0, so the default sampler's stream is unchanged.
  const dark = cfg.darkProb > 0 && rng.bernoulli(cfg.darkProb);
  const logShot = rng.range(dark ? lo + 0.75 * (hi - lo) : lo, hi);
  const logRead = cfg.readNoiseSlope * logShot + cfg.readNoiseIntercept + rng.normal(0, cfg.readNoiseStd);
  return { shotNoise: Math.exp(logShot), readNoise: Math.exp(logRead) };
}

/** One camera: CCM, gains and noise levels. */
export function sampleCameraParams(rng: HostRng, config: Partial<CameraSamplerConfig> = {}): CameraParams {
  const cfg = { ...DEFAULT_CAMERA_SAMPLER, ...config };
  const xyz2cam = randomXyz2cam(rng);
  const { rgb2cam, cam2rgb } = colorMatricesFromXyz2cam(xyz2cam);
  // rgb_gain = 1 / N(0.8, 0.1), the normal truncated at ±4σ (redrawn) so the gain stays positive and finite.
  let g: number;
  do g = rng.normal(cfg.rgbGainMean, cfg.rgbGainStd);
  while (Math.abs(g - cfg.rgbGainMean) > 4 * cfg.rgbGainStd);
  const rgbGain = 1 / g;
  const redGain = rng.range(cfg.redGainRange[0], cfg.redGainRange[1]);
  const blueGain = rng.range(cfg.blueGainRange[0], cfg.blueGainRange[1]);
  const { shotNoise, readNoise } = randomNoiseLevels(rng, cfg);
  return { xyz2cam, rgb2cam, cam2rgb, rgbGain, redGain, blueGain, wbGains: [redGain * rgbGain, rgbGain, blueGain * rgbGain], shotNoise, readNoise };
}

/** `n` cameras from one seed: camera i comes from its own child generator, so it does not depend on n. */
export function sampleCameraBatch(seed: number, n: number, config: Partial<CameraSamplerConfig> = {}, stream = 0): CameraParams[] {
  const root = new HostRng(seed, stream);
  return Array.from({ length: n }, (_, i) => sampleCameraParams(root.child(i), config));
}
