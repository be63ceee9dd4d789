import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyColourFix, colourFixBandFlag, colourFixFlag, inputDir, intFlag, noPositionals, outputPath, parseArgs, probabilityFlag, UsageError, type Command, inputWeights } from '../command.js';
import { init, noGrad, tidy, type Tensor } from '../../index.js';
import { flipEnsemble } from '../../rddm/flip-ensemble.js';
import { decodePhoto } from '../../eval/photos.js';
import { evaluateDetailed, bilinearMethod, classicalMethod, averageOverPatterns, formatEvalTable, formatNoiseBinTable, type RestoreMethod } from '../../eval/evaluate.js';
import { NOISE_REF_SIGNAL } from '../../eval/noise-bins.js';
import { ComparisonGrid } from '../../eval/comparison-grid.js';
import { degradeWithProbability } from '../../raw/degrade.js';
import { BAYER_PATTERNS, isBayerPattern, type BayerPattern } from '../../raw/bayer-pattern.js';
import { encodePng } from '../../io/png.js';
import { writeFileAtomic } from '../../node/atomic-write.js';
import { loadRddmDir } from '../../node/rddm-weights.js';
import { defaultWeightsDir } from '../../node/paths.js';
import type { RddmSystem } from '../../rddm/system.js';
import { Progress } from '../../train/progress.js';

/** RDDM as an evaluation method: the one-step restorer with the batch's pattern adapter (or the flip ensemble). */
export function rddmMethod(sys: RddmSystem, ensemble = false): RestoreMethod {
  const restore = (m: Tensor, p: BayerPattern) => sys.restoreOneStep(m, p).image;
  return async (b) => noGrad(() => tidy(() => (ensemble ? flipEnsemble(b.lq, b.patterns[0], restore) : restore(b.lq, b.patterns[0]))));
}

/** D_lin(E_lin(HQ)) at HQ's own exposure gain: the RVAE reconstructing the clean image (it is given the ground truth). */
function reconstructClean(sys: RddmSystem, hqLinear: Tensor): Tensor {
  const gain = sys.exposureGain(hqLinear);
  return sys.decodeLatent(sys.linearLatent(hqLinear, gain), gain);
}

/**
 * Reference row `rvae`: the RVAE's bare reconstruction of the clean image, D_lin(E_lin(HQ)), no colour matching or
 * fix. Not a restorer: it measures the decoder alone.
 */
export function rvaeMethod(sys: RddmSystem): RestoreMethod {
  return async (b) => noGrad(() => tidy(() => reconstructClean(sys, b.hqLinear)));
}

/**
 * Reference row `ceiling`: RDDM as if its one-step latent were perfect, ẑ_H = s·E_lin(HQ): the clean image's
 * reconstruction through RDDM's own output stage (colour matching and the low-frequency colour fix, both fed the
 * noisy LQ mosaic, as RDDM's output is). RDDM − ceiling is what E_raw and the UNet lose; ceiling − HQ what the RVAE
 * and the fix lose. The fix takes the colour below its scale from the mosaic, so the ceiling sits well above `rvae`.
 */
export function ceilingMethod(sys: RddmSystem): RestoreMethod {
  return async (b) => noGrad(() => tidy(() => sys.finishImage(reconstructClean(sys, b.hqLinear), b.lq, b.patterns[0])));
}

/**
 * Ablation row `eraw`: RDDM with its UNet step skipped, D_lin(z_L) through RDDM's output stage, where
 * z_L = s·E_raw(LQ) with the pattern's adapter. A restorer (it sees only the LQ mosaic, as RDDM does), so
 * RDDM − eraw is what the one-step UNet adds and eraw − ceiling what E_raw alone loses.
 */
export function erawMethod(sys: RddmSystem): RestoreMethod {
  return async (b) =>
    noGrad(() =>
      tidy(() => {
        const pattern = b.patterns[0];
        sys.setPattern(pattern);
        const gain = sys.exposureGain(b.lq, pattern);
        return sys.finishImage(sys.decodeLatent(sys.rawLatent(b.lq, pattern, gain), gain), b.lq, pattern);
      }),
    );
}

/** The --methods that load the weights (all but rvae also go through RDDM's output stage). */
const WEIGHTED_METHODS = ['rddm', 'ceiling', 'rvae', 'eraw'];

/** What the RDDM rows were evaluated with, for the JSON report (the band only counts when the fix is on). */
function rddmSettings(sys: RddmSystem, ensemble: boolean): { colourFixSigma: number; colourFixBand: number; ensemble: boolean } {
  const sigma = sys.config.colourFixSigma ?? 0;
  return { colourFixSigma: sigma, colourFixBand: sigma ? (sys.config.colourFixBand ?? 0) : 0, ensemble };
}

export const evalCommand: Command = {
  name: 'eval',
  summary: 'PSNR/SSIM of RDDM vs bilinear and classical baselines on held-out photos, per Bayer pattern and noise level',
  usage: `usage: rddm eval [--split validation|test] [--data DIR] [--patterns all|RGGB,…] [--json FILE] [--grid FILE.png] [--crop 256] [--crops-per-image 1]
                 [--seed 7] [--weights DIR] [--methods rddm,bilinear,classical[,ceiling,rvae,eraw]] [--ensemble] [--degrade-prob 0]
                 [--colour-fix SIGMA] [--colour-fix-band SIGMA] [--noise-bins 4] [--noise-sweep]
  Prints two tables: per Bayer pattern (and averaged over patterns), and per noise level. A crop's noise level is
  σ(0.18) = sqrt(λ_shot·0.18 + λ_read), the noise std at mid-grey in normalised RAW units (λ: the synthesis's
  shot and read variances). --noise-bins N (>= 2) splits the synthesis's range of σ(0.18) (0.0042, nearly clean,
  to 0.049, the darkest it makes) evenly in log σ; the edges do not depend on the crops, so bins compare across
  runs. Crops past either end count in the end bins.
  --noise-sweep draws crop r of photo i at a noise level inside bin (i + r) mod N (camera matrix and gains as
             drawn; log-uniform σ within the bin) instead of the sampler's level, so every bin gets crops at no
             extra cost: the same number of restorations as without it. Without it, a bin can stay empty (the
             table says so; the JSON has count 0 and null scores). Per-pattern rows then average over the swept
             levels. With --crops-per-image >= N every photo is in every bin; with fewer, bins also differ in
             content, so compare methods within a bin rather than one bin with another.
  --methods …,ceiling,rvae add reference rows, not restorers (they are given the clean image): ceiling is RDDM
             with a perfect latent, the RVAE's reconstruction of the clean image through RDDM's colour matching and
             fix (fed the noisy mosaic, as RDDM is), so RDDM − ceiling is what E_raw and the UNet lose; rvae is the
             bare reconstruction D_lin(E_lin(HQ)), the decoder alone.
  --methods …,eraw adds an ablation: RDDM with its UNet step skipped (E_raw's latent of the LQ mosaic decoded
             through RDDM's output stage), so RDDM − eraw is what the one-step UNet adds.
  --ensemble evaluates RDDM as the flip self-ensemble (rddm restore --ensemble).
  --colour-fix SIGMA, --colour-fix-band SIGMA set RDDM's low-frequency colour fix (0: off; default: the weights').
  --degrade-prob P blurs and resizes each pair with probability P before the mosaic and noise, as training does
             (default 0: noise + mosaic only, the design's evaluation setting).
  --split validation|test picks the photos of datasets/photos.json's split in data/photos/<split>/ (default test;
             bash scripts/fetch-photos.sh): choose runs and settings on validation, report test, never tune on it.
  --data DIR evaluates the photos in DIR instead (it overrides --split); photos are PNG, JPEG, 8-bit TIFF or PPM.
             Pairs are synthesised with a fixed seed.
  --json FILE: { split (null with --data), data, photos, crop, seed, degradeProb, [colourFixSigma, colourFixBand, ensemble,] rows: per method and
             pattern, average: per method over patterns, noise: { signal, edges, sweep }, bins: [{ index, sigmaLow,
             sigmaHigh, count, rows: [{ method, psnr_srgb, ssim_srgb, psnr_linear, ssim_linear }] }] }; a bin's
             scores average its crops under every pattern, so the count-weighted mean of the bins is the average.`,
  async run(args) {
    const { flags, positionals } = parseArgs(args, { string: ['split', 'data', 'patterns', 'json', 'grid', 'crop', 'crops-per-image', 'seed', 'weights', 'methods', 'degrade-prob', 'colour-fix', 'colour-fix-band', 'noise-bins'], boolean: ['ensemble', 'noise-sweep'] });
    noPositionals(positionals);
    const pat = String(flags.patterns ?? 'all');
    const patterns = (pat === 'all' ? [...BAYER_PATTERNS] : pat.split(',').map((p) => p.trim().toUpperCase())) as BayerPattern[];
    for (const p of patterns) if (!isBayerPattern(p)) throw new UsageError(`unknown pattern '${p}'`);
    const crop = intFlag(flags, 'crop', 256, 16, 1 << 14), seed = intFlag(flags, 'seed', 7, 0, 2 ** 32 - 1), per = intFlag(flags, 'crops-per-image', 1, 1, 1024);
    const noiseBins = intFlag(flags, 'noise-bins', 4, 2, 64), noiseSweep = Boolean(flags['noise-sweep']);
    if (crop % 16) throw new UsageError(`--crop must be a multiple of 16, got '${flags.crop}'`);
    const wanted = String(flags.methods ?? 'rddm,bilinear,classical').split(',').map((m) => m.trim());
    const known = ['bilinear', 'classical', ...WEIGHTED_METHODS];
    for (const m of wanted) if (!known.includes(m)) throw new UsageError(`unknown method '${m}' in --methods (have ${known.join(', ')})`);
    const degradeProb = probabilityFlag(flags, 'degrade-prob') ?? 0;
    const colourFixSigma = colourFixFlag(flags);
    const colourFixBand = colourFixBandFlag(flags);
    if (flags.json !== undefined) outputPath(String(flags.json), '--json');
    if (flags.grid !== undefined) outputPath(String(flags.grid), '--grid');
    const split = String(flags.split ?? 'test');
    if (split !== 'validation' && split !== 'test') throw new UsageError(`--split must be validation or test, got '${split}' (training photos are not for evaluation)`);
    const dir = String(flags.data ?? `data/photos/${split}`);
    inputDir(dir, 'photo folder (run `bash scripts/fetch-photos.sh`, or pass --data DIR)');
    const files = readdirSync(dir).filter((f) => /\.(png|jpe?g|tiff?|ppm|pgm)$/i.test(f)).sort();
    if (!files.length) throw new Error(`${dir}: no PNG, JPEG, TIFF or PPM photos`);
    const needsWeights = WEIGHTED_METHODS.some((m) => wanted.includes(m));
    if (needsWeights) inputWeights(String(flags.weights ?? defaultWeightsDir()), 'weights manifest (pass --weights DIR)');
    await init();
    const photos = await Promise.all(files.map(async (f) => decodePhoto(new Uint8Array(readFileSync(join(dir, f))), join(dir, f))));
    const methods: Record<string, RestoreMethod> = {};
    // The system whose output stage (colour matching and fix) the rddm, ceiling and eraw rows use; the JSON records it.
    let rddm: RddmSystem | undefined;
    if (needsWeights) {
      const sys = (await loadRddmDir(String(flags.weights ?? defaultWeightsDir()))).sys;
      applyColourFix(sys.config, colourFixSigma, colourFixBand);
      if (wanted.includes('rddm')) methods.rddm = rddmMethod(sys, Boolean(flags.ensemble));
      if (wanted.includes('ceiling')) methods.ceiling = ceilingMethod(sys);
      if (wanted.includes('rvae')) methods.rvae = rvaeMethod(sys);
      if (wanted.includes('eraw')) methods.eraw = erawMethod(sys);
      if (WEIGHTED_METHODS.some((m) => m !== 'rvae' && wanted.includes(m))) rddm = sys;
    }
    if (wanted.includes('bilinear')) methods.bilinear = bilinearMethod;
    if (wanted.includes('classical')) methods.classical = classicalMethod();
    const grid = flags.grid ? new ComparisonGrid(8) : undefined;
    const t0 = performance.now();
    let progress: Progress | undefined; // on stderr, so --json and the tables on stdout stay clean
    const synth = degradeProb > 0 ? { degrade: degradeWithProbability(degradeProb) } : undefined;
    const { rows, bins } = await evaluateDetailed({ photos, patterns, seed, crop, methods, cropsPerImage: per, grid, batchSize: 1, synth, noiseBins, noiseSweep, onBatch: (done, total) => void (progress ??= new Progress('eval crops', total)).update(done) });
    const all = averageOverPatterns(rows);
    console.log(formatEvalTable([...rows, ...all]));
    console.log('');
    console.log(formatNoiseBinTable(bins));
    const degraded = degradeProb > 0 ? `, blur and resize each with probability ${degradeProb}` : '';
    const swept = noiseSweep ? `, noise swept over ${noiseBins} bins` : '';
    // Which photos the numbers are on: a split's name, or the folder --data named.
    const source = flags.data === undefined ? `the ${split} split` : dir;
    console.log(`(${source}: ${photos.length} photos x ${per} crop(s) of ${crop}x${crop}, seed ${seed}${degraded}${swept}; σ(${NOISE_REF_SIGNAL}) bins from ${bins[0].sigmaLow.toFixed(4)} to ${bins.at(-1)!.sigmaHigh.toFixed(4)}; ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    if (flags.json) {
      const noise = { signal: NOISE_REF_SIGNAL, edges: [...bins.map((b) => b.sigmaLow), bins.at(-1)!.sigmaHigh], sweep: noiseSweep };
      const out = { split: flags.data === undefined ? split : null, data: dir, photos: files, crop, seed, degradeProb, ...(rddm ? rddmSettings(rddm, Boolean(flags.ensemble)) : {}), rows: rows.map(({ method, pattern, psnr_srgb, ssim_srgb, psnr_linear, ssim_linear }) => ({ method, pattern, psnr_srgb, ssim_srgb, psnr_linear, ssim_linear })), average: all, noise, bins };
      await writeFileAtomic(String(flags.json), JSON.stringify(out, null, 2) + '\n');
    }
    if (grid) await writeFileAtomic(String(flags.grid), await encodePng(grid.render()));
    return 0;
  },
};
