import { readdirSync, readFileSync, mkdirSync } from 'node:fs';
import { join, basename, extname } from 'node:path';
import { inputDir, intFlag, noPositionals, parseArgs, UsageError, type Command } from '../command.js';
import { init } from '../../index.js';
import { decodePhoto } from '../../eval/photos.js';
import { synthesizeBatch } from '../../raw/synth-batch.js';
import { BAYER_PATTERNS, isBayerPattern, type BayerPattern } from '../../raw/bayer-pattern.js';
import { writeDng } from '../../raw/dng-writer.js';
import { encodeTiff16Rgb } from '../../io/tiff-writer.js';
import { writeFileAtomic } from '../../node/atomic-write.js';
import { Progress } from '../../train/progress.js';
import type { Matrix3 } from '../../raw/raw-image.js';

/** The sensor every synthesised DNG claims: 14-bit codes, black 512 (a typical modern camera). */
export const SYNTH_SENSOR = { bitDepth: 14, blackLevel: 512, whiteLevel: 16383 };

export const synth: Command = {
  name: 'synth',
  summary: 'synthesise LQ RAW (DNG) / linear HQ (16-bit TIFF) pairs from sRGB photos',
  usage: `usage: rddm synth --in DIR --out DIR [--patterns RGGB,BGGR,GRBG,GBRG] [--crop 256] [--seed 1] [--per-image 1]
  Writes NAME-PATTERN-K.dng (noisy, degraded mosaic, ${SYNTH_SENSOR.bitDepth}-bit), NAME-PATTERN-K-hq.tiff (clean linear, camera
  space) and NAME-PATTERN-K.json (white balance, colour matrix, noise levels, crop) for every photo (PNG/TIFF) in --in.`,
  async run(args) {
    const { flags, positionals } = parseArgs(args, { string: ['in', 'out', 'patterns', 'crop', 'seed', 'per-image'] });
    noPositionals(positionals);
    if (!flags.in || !flags.out) throw new UsageError('--in and --out are required');
    const patterns = String(flags.patterns ?? BAYER_PATTERNS.join(',')).split(',').map((p) => p.trim().toUpperCase());
    for (const p of patterns) if (!isBayerPattern(p)) throw new UsageError(`unknown Bayer pattern '${p}' (use RGGB, BGGR, GRBG, GBRG)`);
    const crop = intFlag(flags, 'crop', 256, 2, 1 << 14), seed = intFlag(flags, 'seed', 1, 0), per = intFlag(flags, 'per-image', 1, 1, 1 << 16);
    if (crop % 2) throw new UsageError(`--crop must be an even integer >= 2, got ${flags.crop}`);
    inputDir(String(flags.in), 'photo folder (--in)');
    const files = readdirSync(String(flags.in)).filter((f) => /\.(png|tiff?)$/i.test(f)).sort();
    if (!files.length) throw new Error(`no PNG or TIFF photos in ${flags.in}`);
    await init();
    mkdirSync(String(flags.out), { recursive: true });
    const total = files.length * patterns.length * per;
    const progress = new Progress('synth', total, (l) => console.error(l), 500);
    let done = 0;
    for (const [fi, f] of files.entries()) {
      const path = join(String(flags.in), f);
      const img = await decodePhoto(new Uint8Array(readFileSync(path)), path);
      for (const [pi, pattern] of (patterns as BayerPattern[]).entries()) {
        for (let k = 0; k < per; k++) {
          const step = (fi * patterns.length + pi) * per + k;
          const b = synthesizeBatch([img], { cropSize: crop, patterns: [pattern], seed, step, quantize: SYNTH_SENSOR });
          const [lq, hq, wb, ccm] = await Promise.all([b.lq.data(), b.hqLinear.data(), b.wbGains.data(), b.cam2rgb.data()]);
          for (const t of [b.lq, b.hqLinear, b.srgb, b.wbGains, b.cam2rgb]) t.dispose();
          const { blackLevel: black, whiteLevel: white } = SYNTH_SENSOR;
          const mosaic = Uint16Array.from(lq, (v) => Math.min(white, Math.max(0, Math.round(v * (white - black) + black))));
          const cam2rgb = [0, 1, 2].map((r) => [0, 1, 2].map((c) => ccm[r * 3 + c])) as Matrix3;
          const asShotWB: [number, number, number] = [wb[0] / wb[1], 1, wb[2] / wb[1]];
          const stem = `${basename(f, extname(f))}-${pattern}-${k}`;
          const dng = writeDng({
            width: crop, height: crop, mosaic, cfaPattern: pattern, blackLevel: [black, black, black, black], whiteLevel: white,
            asShotWB, cam2rgb, orientation: 1, make: 'rddm', model: 'synthetic',
          });
          const hwc = new Uint16Array(crop * crop * 3);
          for (let c = 0; c < 3; c++) for (let i = 0; i < crop * crop; i++) hwc[i * 3 + c] = Math.round(Math.min(1, Math.max(0, hq[c * crop * crop + i])) * 65535);
          const meta = { source: f, pattern, crop: b.crops[0], wbGains: Array.from(wb), cam2rgb, params: b.params[0], degradation: b.degradations[0], sensor: SYNTH_SENSOR, seed, step };
          await writeFileAtomic(join(String(flags.out), `${stem}.dng`), dng);
          await writeFileAtomic(join(String(flags.out), `${stem}-hq.tiff`), encodeTiff16Rgb(crop, crop, hwc));
          await writeFileAtomic(join(String(flags.out), `${stem}.json`), JSON.stringify(meta, null, 2) + '\n');
          progress.update(++done);
        }
      }
    }
    console.log(`wrote ${total} pairs to ${flags.out}`);
    return 0;
  },
};
