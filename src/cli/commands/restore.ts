import { applyColourFix, colourFixBandFlag, colourFixFlag, inputFile, intFlag, outputPath, parseArgs, positiveFlag, UsageError, type Command, inputWeights } from '../command.js';
import { init } from '../../index.js';
import { readRawFile } from '../../node/raw-file.js';
import { readerFlag } from '../reader-flag.js';
import { assertBayer } from '../../raw/open-raw.js';
import { isBayerPattern, type BayerPattern } from '../../raw/bayer-pattern.js';
import { encodePng } from '../../io/png.js';
import { encodeTiff16Rgb } from '../../io/tiff-writer.js';
import { writeFileAtomic } from '../../node/atomic-write.js';
import { loadRddmDir } from '../../node/rddm-weights.js';
import { restoreRaw, binRaw, defaultRestoreTile } from '../../rddm/restore.js';
import { DEFAULT_MEMORY_BUDGET } from '../../rddm/restore-budget.js';
import { linearToSrgb8, linearToU16, rawRenderParams } from '../../rddm/render.js';
import { describeGain, EXPOSURE_HELP, exposureGain, parseExposure, type Exposure } from '../../rddm/exposure.js';
import { Progress } from '../../train/progress.js';
import { defaultWeightsDir } from '../../node/paths.js';

export const restore: Command = {
  name: 'restore',
  summary: 'restore a RAW photo (DNG or CR2) to sRGB PNG (and 16-bit linear TIFF) with RDDM',
  usage: `usage: rddm restore FILE -o OUT.png [--pattern auto|RGGB|…] [--steps 1] [--sampler ddim|ddpm]
                    [--start-t 250] [--tile N] [--linear OUT.tiff] [--weights DIR] [--bin K] [--seed 0] [--max-memory MIB]
                    [--ensemble] [--colour-fix SIGMA] [--colour-fix-band SIGMA] [--exposure auto|none|EV]
                    [--reader auto|native|libraw]
  FILE is any camera RAW with a 2x2 Bayer sensor (other formats open through LibRaw; X-Trans, Foveon and
  monochrome sensors are refused).
  --exposure: ${EXPOSURE_HELP}. Default auto, as RAW converters render; the --linear TIFF is never scaled.
  --ensemble restores each tile and its three mirrors (each its own Bayer pattern's adapter) and averages them:
  4× the time, ~0.3 dB better on the held-out pairs.
  --colour-fix SIGMA takes the output's colour below a Gaussian scale of SIGMA pixels from the RAW's own local means
  (0: off; default: the weights' setting); --colour-fix-band S blends the band from S to SIGMA pixels per pixel
  between the output and the RAW by their estimated errors (0: keep the output's; default: the weights' setting).
  --bin K averages K×K same-colour sites first (a K-times smaller preview, same CFA pattern).
  --steps 1 is the one-step restorer; N > 1 noises the LQ latent to --start-t and runs N DDIM (or DDPM) steps.
  --tile N restores N×N tiles (a multiple of the model's alignment); smaller tiles need less GPU memory. Default:
  128 latent pixels a side (256 for the shipped ×2 weights, 512 for ×4 ones).
  --max-memory MIB bounds one tile's GPU memory and the full-size result's host memory (default 4096); a restore
  over it, or over the device's storage-binding limit, is refused before it starts, naming the --tile or --bin that fits.`,
  async run(args) {
    const { flags, positionals } = parseArgs(args, {
      string: ['o', 'pattern', 'steps', 'sampler', 'start-t', 'tile', 'linear', 'weights', 'seed', 'bin', 'max-memory', 'colour-fix', 'colour-fix-band', 'exposure', 'reader'],
      boolean: ['ensemble'],
      alias: { '-o': '--o' },
    });
    if (positionals.length !== 1) throw new UsageError(positionals.length ? `expected one RAW file, got ${positionals.length} arguments` : 'name a RAW file');
    const file = positionals[0]!;
    if (typeof flags.o !== 'string' || !flags.o) throw new UsageError('-o OUT.png is required');
    const steps = intFlag(flags, 'steps', 1, 1, 1000);
    const tileFlag = flags.tile !== undefined ? intFlag(flags, 'tile', 512, 16, 1 << 16) : undefined;
    const startT = intFlag(flags, 'start-t', 250, 0, 999);
    const seed = intFlag(flags, 'seed', 0, 0, 2 ** 32 - 1);
    const bin = intFlag(flags, 'bin', 1, 1, 64);
    const colourFixSigma = colourFixFlag(flags);
    const colourFixBand = colourFixBandFlag(flags);
    let exposure: Exposure;
    try {
      exposure = parseExposure(String(flags.exposure ?? 'auto'));
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const memoryBudget = positiveFlag(flags, 'max-memory', DEFAULT_MEMORY_BUDGET / 2 ** 20) * 2 ** 20;
    if (flags.sampler !== undefined && flags.sampler !== 'ddim' && flags.sampler !== 'ddpm') throw new UsageError(`--sampler must be ddim or ddpm, got '${flags.sampler}'`);
    const pattern = String(flags.pattern ?? 'auto').toUpperCase();
    if (pattern !== 'AUTO' && !isBayerPattern(pattern)) throw new UsageError(`--pattern must be auto, RGGB, BGGR, GRBG or GBRG, got '${flags.pattern}'`);
    inputFile(file, 'RAW file');
    outputPath(flags.o, '-o');
    if (flags.linear !== undefined) outputPath(String(flags.linear), '--linear');
    const weights = String(flags.weights ?? defaultWeightsDir());
    inputWeights(weights, `weights manifest (--weights ${weights} holds none)`);
    const opened = await readRawFile(file, readerFlag(flags.reader));
    assertBayer(opened, file);
    const raw = binRaw(opened, bin);
    if (pattern !== 'AUTO') raw.cfaPattern = pattern as BayerPattern;
    await init();
    const { sys } = await loadRddmDir(weights);
    applyColourFix(sys.config, colourFixSigma, colourFixBand);
    const align = 2 * sys.vae.downscale;
    const tile = tileFlag ?? defaultRestoreTile(sys.vae.downscale);
    if (tile % align) throw new UsageError(`--tile must be a multiple of ${align} for these weights, got ${tile}`);
    const unetAdapters = new Set(sys.unet.namedParameters().map(([k]) => /\.lora_A\.([A-Z]+)\./.exec(k)?.[1]).filter(Boolean));
    if (unetAdapters.size && !unetAdapters.has(raw.cfaPattern)) {
      throw new Error(`${file}: CFA pattern ${raw.cfaPattern} has no trained adapter in ${weights} (have ${[...unetAdapters].join(', ')})`);
    }
    console.error(`${file}: ${raw.make} ${raw.model}, ${raw.width}x${raw.height}, ${raw.cfaPattern}, WB [${raw.asShotWB.map((v) => v.toFixed(3)).join(', ')}]`);
    const t0 = performance.now();
    let progress: Progress | null = null;
    const res = await restoreRaw(sys, raw, {
      steps, tile, startTimestep: startT, sampler: (flags.sampler as 'ddim' | 'ddpm' | undefined) ?? 'ddim', seed, memoryBudget,
      ensemble: Boolean(flags.ensemble),
      onProgress: (d, n) => {
        progress ??= new Progress('restore tiles', n, (l) => console.error(l), 1000);
        progress.update(d);
      },
    });
    // The gain comes from the whole (binned) RAW, as the web page's preview and restore take it.
    const gain = exposureGain(exposure, raw);
    console.error(`exposure ${exposure === 'auto' ? 'auto (dcraw\'s white point)' : exposure === 'none' ? 'none' : `${exposure} EV`}: ${describeGain(gain)}`);
    const srgb = await linearToSrgb8(res.linear, res.width, res.height, rawRenderParams(raw, gain));
    await writeFileAtomic(flags.o, await encodePng({ width: res.width, height: res.height, channels: 3, bitDepth: 8, data: srgb }));
    if (flags.linear) await writeFileAtomic(String(flags.linear), encodeTiff16Rgb(res.width, res.height, linearToU16(res.linear, res.width, res.height)));
    console.log(`restored ${res.width}x${res.height} in ${((performance.now() - t0) / 1000).toFixed(1)} s → ${flags.o}${flags.linear ? ` and ${flags.linear}` : ''}`);
    return 0;
  },
};
