import type { Tensor } from '../tensor/tensor.js';
import { tensor } from '../ops/creation.js';
import { randn } from '../ops/random.js';
import { AdamW } from '../optim/adamw.js';
import { warmupCosine } from '../optim/schedules.js';
import type { LrSchedule } from '../optim/optimizer.js';
import { HostRng } from '../random/host-rng.js';
import { synthesizeBatch, type SrgbImage, type SynthBatch } from '../raw/synth-batch.js';
import { degradeWithProbability } from '../raw/degrade.js';
import { mosaic } from '../raw/bayer.js';
import { ptp } from '../raw/ptp.js';
import { BAYER_PATTERNS, type BayerPattern } from '../raw/bayer-pattern.js';
import { ssimLoss } from '../eval/metrics.js';
import type { TrainTask } from '../train/loop.js';
import type { RddmSystem } from './system.js';

export type Stage = 'rvae1' | 'rvae2' | 'unet' | 'onestep';

export interface StageOptions {
  photos: readonly SrgbImage[];
  seed: number;
  batch: number;
  crop: number;
  lr: number;
  /** Dual-domain loss weights (one-step stage). */
  lambdaLatent?: number;
  lambdaPixel?: number;
  lambdaSsim?: number;
  /**
   * Weight of a linear-domain pixel MSE (restored camera-linear RGB against hqLinear; default 0, off). The sRGB terms
   * weigh shadows most (the curve is steepest there); linear PSNR weighs highlights, where VST + BM3D stays ahead.
   */
  lambdaLinear?: number;
  /**
   * One-step stage: train the UNet's base weights too, not only its CMB-LoRA and conv_in. OSEDiff freezes the base
   * to keep SD's pretrained prior; ours is a tiny UNet pretrained here for a few thousand ε-prediction steps, and the
   * LoRA-only stage plateaued (weights/README.md, runs 6–12), so whether the base should learn is an A/B.
   */
  trainUnetBase?: boolean;
  /**
   * One-step stage: the RVAE's decoder (and post_quant_conv) trains too, on the restored images' losses. The latent
   * targets come from the encoder, which stays frozen, so the latent space the UNet learned does not move; the
   * decoder learns to decode the one-step latents ẑ_H, which are not the clean latents it was trained on.
   * OSEDiff keeps SD's decoder frozen; ours is a tiny decoder trained here, so it is a choice to measure.
   */
  trainDecoder?: boolean;
  /** KL weight of RVAE stage 1. */
  lambdaKl?: number;
  /** Permute the photos' colour channels at random (SynthConfig.permuteChannels). */
  permuteChannels?: boolean;
  /**
   * Probability of each detail degradation, blur and resize (DegradeConfig.blurProb and .resizeProb; default 0.5
   * each, so a quarter of the inputs are only noisy and mosaicked). 0 trains on noise + mosaic alone.
   */
  degradeProb?: number;
  /**
   * Probability that a crop's noise comes from the darkest quarter of the camera sampler's range rather than the
   * whole range (CameraSamplerConfig.darkProb; default 0).
   */
  darkProb?: number;
  /**
   * 'cosine': the learning rate warms up over the first 2% of `totalSteps` (at most 20 steps), then follows a cosine
   * from `lr` down to lr/10 at `totalSteps`. Absent: constant `lr`.
   */
  lrSchedule?: 'cosine';
  totalSteps?: number;
}

/** The stage's learning rate: constant, or opts.lrSchedule over opts.totalSteps. */
export function stageLr(opts: StageOptions): number | LrSchedule {
  if (!opts.lrSchedule) return opts.lr;
  const total = opts.totalSteps;
  if (!total || total < 1) throw new Error(`lrSchedule '${opts.lrSchedule}' needs totalSteps >= 1, got ${total}`);
  return warmupCosine({ lr: opts.lr, warmup: Math.min(20, Math.floor(total * 0.02)), total, minLr: opts.lr / 10 });
}

/**
 * Batch of step `step`: images drawn with replacement by (seed, step), one Bayer pattern for the whole batch
 * (CMB-LoRA switches per batch) cycling through the four, everything else from synthesizeBatch.
 */
export function batchAt(opts: StageOptions, step: number, patterns: readonly BayerPattern[] = BAYER_PATTERNS): SynthBatch {
  const rng = new HostRng(opts.seed ^ 0x5eed, step);
  const images = Array.from({ length: opts.batch }, () => opts.photos[rng.int(opts.photos.length)]);
  const pattern = patterns[step % patterns.length];
  const degrade = opts.degradeProb === undefined ? {} : degradeWithProbability(opts.degradeProb);
  return synthesizeBatch(images, { cropSize: opts.crop, patterns: [pattern], seed: opts.seed, step, permuteChannels: opts.permuteChannels ?? false, degrade, camera: opts.darkProb ? { darkProb: opts.darkProb } : {} });
}

export function disposeBatch(b: SynthBatch): void {
  for (const t of [b.lq, b.hqLinear, b.srgb, b.wbGains, b.cam2rgb]) t.dispose();
}

function setTrainable(sys: RddmSystem, pick: (name: string) => boolean): Tensor[] {
  const out: Tensor[] = [];
  for (const [name, p] of sys.namedParameters()) {
    p.requiresGrad = pick(name);
    if (p.requiresGrad) out.push(p);
  }
  if (!out.length) throw new Error('internal: no trainable parameters selected');
  return out;
}

const isLora = (n: string) => /\.lora_[AB]\./.test(n);

/**
 * The four training stages of RDDM on our engine:
 *  rvae1   — E_lin + D_lin reconstruct linear HQ (L1 + small KL + L1 after PTP).
 *  rvae2   — D_lin frozen; E_raw (initialised from E_lin) learns, through CMB-LoRA and conv_in, to encode the
 *            clean RAW mosaic so that E_raw(mosaic) ≈ E_lin(HQ) and D_lin(E_raw(mosaic)) ≈ HQ.
 *  unet    — ε-prediction at random t on s·E_lin(HQ) latents: the base UNet (our stand-in for SD's pretraining).
 *  onestep — OSEDiff-style one step from the noisy LQ mosaic with the dual-domain loss; trains CMB-LoRA in the
 *            UNet and E_raw, and both conv_in; base UNet and D_lin frozen.
 */
export function makeStageTask(sys: RddmSystem, stage: Stage, opts: StageOptions): TrainTask {
  let params: Tensor[];
  // Each stage is split into its data (`inputs`, tensors made from the step's batch; the key names the graph, which
  // depends on the CMB-LoRA pattern where one is active) and its loss from that data alone (`lossOf`), so the
  // training loop can replay captured steps; `loss(step)` is the two in sequence.
  let inputs: (step: number) => { key: string; tensors: Tensor[] };
  let lossOf: (t: readonly Tensor[], key: string) => { loss: Tensor; metrics?: Record<string, Tensor> };
  const lat = opts.lambdaLatent ?? 1, pix = opts.lambdaPixel ?? 1, ssimW = opts.lambdaSsim ?? 0.2, linW = opts.lambdaLinear ?? 0;
  /** The batch of `step`, keeping `keep` of its tensors (the rest are disposed). */
  const batchTensors = (step: number, keepOf: (b: SynthBatch) => Tensor[]) => {
    const b = batchAt(opts, step);
    const tensors = keepOf(b);
    for (const t of [b.lq, b.hqLinear, b.srgb, b.wbGains, b.cam2rgb]) if (!tensors.includes(t)) t.dispose();
    return { b, tensors };
  };
  switch (stage) {
    case 'rvae1':
      params = setTrainable(sys, (n) => n.startsWith('vae.'));
      inputs = (step) => ({ key: 'rvae1', tensors: batchTensors(step, (b) => [b.hqLinear, b.wbGains, b.cam2rgb]).tensors });
      lossOf = ([hq, wbGains, cam2rgb]) => {
        const gain = sys.exposureGain(hq);
        const post = sys.vae.encode(sys.toModelDomain(hq, gain));
        const z = post.sample();
        const rec = sys.fromModelDomain(sys.vae.decode(z), gain);
        const l1 = rec.sub(hq).abs().mean();
        const kl = post.kl().mean().mul((opts.lambdaKl ?? 1e-6) / (hq.size / hq.shape[0]));
        const srgbRec = ptp(rec, { wbGains, cam2rgb });
        const srgbHq = ptp(hq, { wbGains, cam2rgb });
        const lPtp = srgbRec.sub(srgbHq).abs().mean();
        post.dispose();
        return { loss: l1.add(kl).add(lPtp), metrics: { l1, ptp_l1: lPtp } };
      };
      break;
    case 'rvae2':
      params = setTrainable(sys, (n) => n.startsWith('raw_encoder.') && (isLora(n) || n.startsWith('raw_encoder.encoder.conv_in.')));
      inputs = (step) => {
        const { b, tensors } = batchTensors(step, (x) => [x.hqLinear]);
        return { key: b.patterns[0], tensors };
      };
      lossOf = ([hq], key) => {
        const pattern = key as BayerPattern;
        const clean = mosaic(hq, pattern);
        const target = sys.linearLatent(hq).detach();
        const gain = sys.exposureGain(clean, pattern);
        const zRaw = sys.rawLatent(clean, pattern, gain);
        const lLat = zRaw.sub(target).square().mean();
        const rec = sys.decodeLatent(zRaw, gain);
        const lRec = rec.sub(hq).abs().mean();
        return { loss: lLat.add(lRec), metrics: { latent: lLat, recon_l1: lRec } };
      };
      break;
    case 'unet':
      params = setTrainable(sys, (n) => (n.startsWith('unet.') && !isLora(n)) || n.startsWith('context.'));
      inputs = (step) => {
        const { b, tensors } = batchTensors(step, (x) => [x.hqLinear]);
        const rng = new HostRng(opts.seed ^ 0x7157, step);
        const ts = Array.from({ length: b.hqLinear.shape[0] }, () => rng.int(sys.schedule.steps));
        const sa = tensor(ts.map((t) => Math.sqrt(sys.schedule.alphaBar(t))), [ts.length, 1, 1, 1]);
        const sb = tensor(ts.map((t) => Math.sqrt(1 - sys.schedule.alphaBar(t))), [ts.length, 1, 1, 1]);
        const latentShape = [b.hqLinear.shape[0], sys.vae.config.latentChannels, b.hqLinear.shape[2] / sys.vae.downscale, b.hqLinear.shape[3] / sys.vae.downscale];
        const eps = randn(latentShape, { seed: opts.seed + 17, stream: step });
        return { key: 'unet', tensors: [...tensors, sa, sb, eps, tensor(ts)] };
      };
      lossOf = ([hq, sa, sb, eps, ts]) => {
        const z0 = sys.linearLatent(hq).detach();
        const zt = z0.mul(sa).add(eps.mul(sb));
        const pred = sys.unet.forward(zt, ts, sys.context.forward(zt.shape[0]));
        return { loss: pred.sub(eps).square().mean() };
      };
      break;
    case 'onestep':
      sys.applyLora();
      params = setTrainable(sys, (n) => (isLora(n) && (n.startsWith('unet.') || n.startsWith('raw_encoder.'))) || n.startsWith('unet.conv_in.') || n.startsWith('raw_encoder.encoder.conv_in.') || (Boolean(opts.trainUnetBase) && n.startsWith('unet.')) || (Boolean(opts.trainDecoder) && (n.startsWith('vae.decoder.') || n.startsWith('vae.post_quant_conv.'))));
      inputs = (step) => {
        const { b, tensors } = batchTensors(step, (x) => [x.lq, x.hqLinear, x.wbGains, x.cam2rgb]);
        return { key: b.patterns[0], tensors };
      };
      lossOf = ([lq, hq, wbGains, cam2rgb], key) => {
        const { zH, image } = sys.restoreOneStep(lq, key as BayerPattern);
        const target = sys.linearLatent(hq).detach();
        const lLat = zH.sub(target).square().mean();
        const meta = { wbGains, cam2rgb };
        const out = ptp(image, meta);
        const ref = ptp(hq, meta);
        const lPix = out.sub(ref).square().mean();
        const lSsim = ssimLoss(out, ref);
        const loss = lLat.mul(lat).add(lPix.mul(pix)).add(lSsim.mul(ssimW));
        const metrics: Record<string, Tensor> = { latent: lLat, pixel: lPix, one_minus_ssim: lSsim };
        if (linW === 0) return { loss, metrics };
        // Scored as eval scores linear PSNR: the output clipped to [0, 1] against hqLinear.
        metrics.linear = image.clamp(0, 1).sub(hq).square().mean();
        return { loss: loss.add(metrics.linear.mul(linW)), metrics };
      };
      break;
  }
  return {
    model: sys,
    optimizer: new AdamW(params, { lr: stageLr(opts), weightDecay: 0 }),
    inputs,
    lossOf,
    loss: (step) => {
      const { key, tensors } = inputs(step);
      return lossOf(tensors, key);
    },
  };
}
