import type { Tensor } from '../tensor/tensor.js';
import { tidy, keep } from '../tensor/scope.js';
import { randn } from '../ops/random.js';
import type { NoiseSchedule } from './schedule.js';

/** Predicts ε for latents z at timestep t (the UNet with its context and active LoRA). */
export type NoisePredictor = (z: Tensor, t: number) => Tensor;

/** Noises clean latents to timestep t: √ᾱ_t·z0 + √(1−ᾱ_t)·ε (the forward process, q(z_t | z_0)). */
export function addNoise(schedule: NoiseSchedule, z0: Tensor, t: number, seed: number): Tensor {
  const ab = schedule.alphaBar(t);
  return tidy(() => z0.mul(Math.sqrt(ab)).add(randn(z0.shape, { seed, stream: 0xadd }).mul(Math.sqrt(1 - ab))));
}

/**
 * DDIM (Song et al. 2021), deterministic (η = 0): x0̂ = (z − √(1−ᾱ_t) ε̂) / √ᾱ_t, then z_prev = √ᾱ_prev x0̂ +
 * √(1−ᾱ_prev) ε̂. Starts from `z` at timesteps[0] and walks the given descending timesteps to 0.
 */
export function ddimSample(schedule: NoiseSchedule, predict: NoisePredictor, z: Tensor, timesteps: readonly number[], onStep?: (i: number) => void): Tensor {
  let cur = keep(z.clone());
  timesteps.forEach((t, i) => {
    const prev = i + 1 < timesteps.length ? timesteps[i + 1] : -1;
    const ab = schedule.alphaBar(t);
    const abPrev = prev >= 0 ? schedule.alphaBar(prev) : 1;
    const next = tidy(() => {
      const eps = predict(cur, t);
      const x0 = cur.sub(eps.mul(Math.sqrt(1 - ab))).mul(1 / Math.sqrt(ab));
      return x0.mul(Math.sqrt(abPrev)).add(eps.mul(Math.sqrt(1 - abPrev)));
    });
    cur.dispose();
    cur = keep(next);
    onStep?.(i);
  });
  return cur;
}

/**
 * DDPM ancestral sampling (Ho et al. 2020) over the given descending timesteps (strided, as diffusers' DDPMScheduler
 * with fewer inference steps): posterior mean of z_prev given x0̂, plus σ·noise with the posterior variance.
 */
export function ddpmSample(schedule: NoiseSchedule, predict: NoisePredictor, z: Tensor, timesteps: readonly number[], seed: number, onStep?: (i: number) => void): Tensor {
  let cur = keep(z.clone());
  timesteps.forEach((t, i) => {
    const prev = i + 1 < timesteps.length ? timesteps[i + 1] : -1;
    const ab = schedule.alphaBar(t);
    const abPrev = prev >= 0 ? schedule.alphaBar(prev) : 1;
    const beta = 1 - ab / abPrev;
    const next = tidy(() => {
      const eps = predict(cur, t);
      const x0 = cur.sub(eps.mul(Math.sqrt(1 - ab))).mul(1 / Math.sqrt(ab)).clamp(-20, 20);
      const c0 = (Math.sqrt(abPrev) * beta) / (1 - ab);
      const ct = (Math.sqrt(1 - beta) * (1 - abPrev)) / (1 - ab);
      const mean = x0.mul(c0).add(cur.mul(ct));
      if (prev < 0) return mean;
      const variance = ((1 - abPrev) / (1 - ab)) * beta;
      return mean.add(randn(cur.shape, { seed, stream: t }).mul(Math.sqrt(Math.max(variance, 1e-20))));
    });
    cur.dispose();
    cur = keep(next);
    onStep?.(i);
  });
  return cur;
}
