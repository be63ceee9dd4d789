import { readFileSync, existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { noPositionals, parseArgs, type Command } from '../command.js';
import { init, tensor, noGrad, tidy } from '../../index.js';
import { readRaw } from '../../raw/read-raw.js';
import { demosaicBilinear } from '../../raw/bayer.js';
import { ptp } from '../../raw/ptp.js';
import { decodePng, encodePng } from '../../io/png.js';
import { psnr, ssim } from '../../eval/metrics.js';
import { writeFileAtomic } from '../../node/atomic-write.js';
import { loadRddmDir } from '../../node/rddm-weights.js';
import { configLabel } from '../../models/configs.js';
import { defaultWeightsDir, packageRoot } from '../../node/paths.js';
import { normalizeMosaic, restoreRaw } from '../../rddm/restore.js';

/** Planar linear [3,H,W] → planar sRGB through PTP with the sample's exact metadata. */
async function toSrgb(linear: Float32Array, h: number, w: number, meta: { wbGains: number[]; cam2rgb: number[][] }): Promise<Float32Array> {
  const t = noGrad(() => tidy(() => ptp(tensor(linear, [1, 3, h, w]), { wbGains: meta.wbGains, cam2rgb: meta.cam2rgb })));
  const d = await t.data();
  t.dispose();
  return d;
}

function toU8(planar: Float32Array, h: number, w: number, out: Uint8Array, outW: number, xOff: number): void {
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) out[(y * outW + xOff + x) * 3 + c] = Math.round(Math.min(1, Math.max(0, planar[(c * h + y) * w + x])) * 255);
}

export const demo: Command = {
  name: 'demo',
  summary: 'restore the shipped RAW sample with the shipped weights; write out/ images and print PSNR vs the baseline',
  usage: 'usage: rddm demo [--out DIR] [--weights DIR]',
  async run(args) {
    const { flags, positionals } = parseArgs(args, { string: ['out', 'weights'] });
    noPositionals(positionals);
    const root = packageRoot();
    const outDir = resolve(String(flags.out ?? 'out'));
    const weights = String(flags.weights ?? defaultWeightsDir());
    const sample = join(root, 'samples', 'astronaut-256');
    if (!existsSync(join(weights, 'manifest.json')) && !existsSync(join(weights, 'unet', 'config.json'))) throw new Error(`no weights at ${weights} (manifest.json missing): run \`npm run train:weights\` or pass --weights DIR`);
    await init();
    const t0 = performance.now();
    const { sys, manifest } = await loadRddmDir(weights);
    const raw = readRaw(new Uint8Array(readFileSync(`${sample}.dng`)), `${sample}.dng`);
    const meta = JSON.parse(readFileSync(`${sample}.json`, 'utf8')) as { wbGains: number[]; cam2rgb: number[][] };
    const hqPng = await decodePng(new Uint8Array(readFileSync(`${sample}-hq.png`)), `${sample}-hq.png`);
    console.log(`sample: ${raw.width}x${raw.height} ${raw.cfaPattern} DNG synthesised from a public-domain photo; weights: ${weights} (${configLabel(manifest.config.vae)} + ${configLabel(manifest.config.unet)})`);
    const res = await restoreRaw(sys, raw, { tile: 256, onProgress: (d, n) => console.error(`restoring tile ${d}/${n}`) });
    const { width: W, height: H } = res;
    const plane = W * H;
    const hq = new Float32Array(3 * plane);
    for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) hq[c * plane + i] = (hqPng.data[i * 3 + c] as number) / 65535;
    const bil = noGrad(() => tidy(() => demosaicBilinear(tensor(normalizeMosaic(raw), [1, 1, raw.height, raw.width]), raw.cfaPattern)));
    const bilinear = await bil.data();
    bil.dispose();
    const [sRest, sBil, sHq] = await Promise.all([toSrgb(res.linear, H, W, meta), toSrgb(bilinear, H, W, meta), toSrgb(hq, H, W, meta)]);
    mkdirSync(outDir, { recursive: true });
    const one = async (name: string, px: Float32Array) => {
      const u8 = new Uint8Array(plane * 3);
      toU8(px, H, W, u8, W, 0);
      await writeFileAtomic(join(outDir, name), await encodePng({ width: W, height: H, channels: 3, bitDepth: 8, data: u8 }));
    };
    await one('input-preview.png', sBil);
    await one('restored.png', sRest);
    await one('reference.png', sHq);
    const side = new Uint8Array(plane * 9);
    [sBil, sRest, sHq].forEach((px, k) => toU8(px, H, W, side, 3 * W, k * W));
    await writeFileAtomic(join(outDir, 'side-by-side.png'), await encodePng({ width: 3 * W, height: H, channels: 3, bitDepth: 8, data: side }));
    const shape = { channels: 3, height: H, width: W };
    const rows = [
      ['bilinear demosaic + PTP (no denoising)', psnr(sBil, sHq), ssim(sBil, sHq, shape)],
      ['RDDM one-step (shipped weights)', psnr(sRest, sHq), ssim(sRest, sHq, shape)],
    ] as const;
    console.log(`\n${'method'.padEnd(42)} ${'PSNR sRGB'.padStart(10)} ${'SSIM'.padStart(7)}`);
    for (const [name, p, s] of rows) console.log(`${name.padEnd(42)} ${p.toFixed(2).padStart(8)} dB ${s.toFixed(4).padStart(7)}`);
    console.log(`\nwrote ${outDir}/{input-preview,restored,reference,side-by-side}.png in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return 0;
  },
};
