import { readFileSync, existsSync } from 'node:fs';
import { parseArgs, UsageError, type Command } from '../command.js';
import { init } from '../../index.js';
import { readRaw } from '../../raw/read-raw.js';
import { isBayerPattern } from '../../raw/bayer-pattern.js';
import { encodePng } from '../../io/png.js';
import { encodeTiff16Rgb } from '../../io/tiff-writer.js';
import { writeFileAtomic } from '../../node/atomic-write.js';
import { loadRddmDir } from '../../node/rddm-weights.js';
import { restoreRaw, binRaw } from '../../rddm/restore.js';
import { linearToSrgb8, linearToU16 } from '../../rddm/render.js';
import { Progress } from '../../train/progress.js';
import { defaultWeightsDir } from '../../node/paths.js';

export const restore: Command = {
  name: 'restore',
  summary: 'restore a RAW photo (DNG or CR2) to sRGB PNG (and 16-bit linear TIFF) with RDDM',
  usage: `usage: rddm restore FILE.dng|FILE.cr2 -o OUT.png [--pattern auto|RGGB|…] [--steps 1] [--sampler ddim|ddpm]
                    [--start-t 250] [--tile 512] [--linear OUT.tiff] [--weights DIR] [--bin K]
  --bin K averages K×K same-colour sites first (a K-times smaller preview, same CFA pattern).
  --steps 1 is the one-step restorer; N > 1 noises the LQ latent to --start-t and runs N DDIM (or DDPM) steps.`,
  async run(args) {
    const { flags, positionals } = parseArgs(args, { string: ['o', 'pattern', 'steps', 'sampler', 'start-t', 'tile', 'linear', 'weights', 'seed', 'bin'], alias: { '-o': '--o' } });
    const file = positionals[0];
    if (!file) throw new UsageError('name a RAW file');
    if (!flags.o) throw new UsageError('-o OUT.png is required');
    if (!existsSync(file)) throw new Error(`${file}: no such file`);
    const steps = Number(flags.steps ?? 1), tile = Number(flags.tile ?? 512), startT = Number(flags['start-t'] ?? 250);
    if (!Number.isInteger(steps) || steps < 1) throw new UsageError(`--steps must be a positive integer, got '${flags.steps}'`);
    if (!Number.isInteger(tile) || tile < 16) throw new UsageError(`--tile must be an integer >= 16, got '${flags.tile}'`);
    if (flags.sampler && flags.sampler !== 'ddim' && flags.sampler !== 'ddpm') throw new UsageError(`--sampler must be ddim or ddpm`);
    const bin = Number(flags.bin ?? 1);
    if (!Number.isInteger(bin) || bin < 1) throw new UsageError(`--bin must be a positive integer, got '${flags.bin}'`);
    const raw = binRaw(readRaw(new Uint8Array(readFileSync(file)), file), bin);
    const pattern = String(flags.pattern ?? 'auto').toUpperCase();
    if (pattern !== 'AUTO') {
      if (!isBayerPattern(pattern)) throw new UsageError(`--pattern must be auto, RGGB, BGGR, GRBG or GBRG`);
      raw.cfaPattern = pattern;
    }
    await init();
    const weights = String(flags.weights ?? defaultWeightsDir());
    const { sys } = await loadRddmDir(weights);
    const unetAdapters = new Set(sys.unet.namedParameters().map(([k]) => /\.lora_A\.([A-Z]+)\./.exec(k)?.[1]).filter(Boolean));
    if (unetAdapters.size && !unetAdapters.has(raw.cfaPattern)) {
      throw new Error(`${file}: CFA pattern ${raw.cfaPattern} has no trained adapter in ${weights} (have ${[...unetAdapters].join(', ')})`);
    }
    console.error(`${file}: ${raw.make} ${raw.model}, ${raw.width}x${raw.height}, ${raw.cfaPattern}, WB [${raw.asShotWB.map((v) => v.toFixed(3)).join(', ')}]`);
    const t0 = performance.now();
    let progress: Progress | null = null;
    const res = await restoreRaw(sys, raw, {
      steps, tile, startTimestep: startT, sampler: (flags.sampler as 'ddim' | 'ddpm' | undefined) ?? 'ddim', seed: Number(flags.seed ?? 0),
      onProgress: (d, n) => {
        progress ??= new Progress('restore tiles', n, (l) => console.error(l), 1000);
        progress.update(d);
      },
    });
    const srgb = await linearToSrgb8(res.linear, res.width, res.height, { wbGains: raw.asShotWB, cam2rgb: raw.cam2rgb });
    await writeFileAtomic(String(flags.o), await encodePng({ width: res.width, height: res.height, channels: 3, bitDepth: 8, data: srgb }));
    if (flags.linear) await writeFileAtomic(String(flags.linear), encodeTiff16Rgb(res.width, res.height, linearToU16(res.linear, res.width, res.height)));
    console.log(`restored ${res.width}x${res.height} in ${((performance.now() - t0) / 1000).toFixed(1)} s → ${flags.o}${flags.linear ? ` and ${flags.linear}` : ''}`);
    return 0;
  },
};
