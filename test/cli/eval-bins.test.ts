// `rddm eval` reports a table per noise level: its JSON bins agree with the per-pattern rows, and noisier bins
// score lower.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { encodePng } from '../../src/io/png.js';
import { parsePhotoList } from '../../src/eval/photos.js';
import { need } from '../helpers/requirements.js';

const dir = mkdtempSync(join(tmpdir(), 'rddm-eval-bins-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const METRICS = ['psnr_srgb', 'ssim_srgb', 'psnr_linear', 'ssim_linear'] as const;
type Scores = Record<(typeof METRICS)[number], number | null> & { method: string };
interface Report {
  split: string | null;
  data: string;
  photos: string[];
  average: (Scores & { images: number })[];
  noise: { signal: number; edges: number[]; sweep: boolean };
  bins: { index: number; sigmaLow: number; sigmaHigh: number; count: number; rows: Scores[] }[];
}

describe('rddm eval noise bins', () => {
  it('writes bins whose count-weighted means are the averages, lower bilinear PSNR in noisier bins, and refuses --noise-bins 1', async () => {
    // A smooth photo the size of the crop: every crop is the same pixels, so bins differ only by camera and noise.
    const size = 48;
    const data = new Uint8Array(size * size * 3);
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) data.set([60 + 2 * x, 70 + 2 * y, 150 - x - y], 3 * (y * size + x));
    const photos = join(dir, 'photos');
    mkdirSync(photos);
    writeFileSync(join(photos, 'ramp.png'), await encodePng({ data, width: size, height: size, channels: 3, bitDepth: 8 }));
    const logs: string[] = [];
    const quiet = vi.spyOn(console, 'log').mockImplementation((s: string) => void logs.push(s));
    const score = async (extra: string[], json: string): Promise<Report> => {
      expect(await runCli(['eval', '--data', photos, '--methods', 'bilinear,classical', '--crop', String(size), '--crops-per-image', '4', '--seed', '3', '--json', json, ...extra])).toBe(0);
      return JSON.parse(readFileSync(json, 'utf8'));
    };
    try {
      for (const [extra, name] of [[['--noise-sweep'], 'sweep'], [[], 'sampled']] as const) {
        const r = await score([...extra], join(dir, `${name}.json`));
        expect([r.split, r.data]).toEqual([null, photos]);
        expect(r.noise.sweep).toBe(name === 'sweep');
        expect(r.noise.edges.length).toBe(5);
        expect(r.bins.map((b) => b.index)).toEqual([0, 1, 2, 3]);
        expect(r.bins.reduce((s, b) => s + b.count, 0)).toBe(4);
        for (const avg of r.average)
          for (const m of METRICS) {
            const weighted = r.bins.reduce((s, b) => s + b.count * (b.rows.find((x) => x.method === avg.method)![m] ?? 0), 0) / 4;
            expect(Math.abs(weighted - avg[m]!)).toBeLessThan(1e-9);
          }
        if (name !== 'sweep') continue;
        // One crop per bin; bilinear has no denoising, so its PSNR falls with the noise, bin after bin.
        expect(r.bins.map((b) => b.count)).toEqual([1, 1, 1, 1]);
        for (const m of ['psnr_srgb', 'psnr_linear'] as const) {
          const bilinear = r.bins.map((b) => b.rows.find((x) => x.method === "bilinear")![m] as number);
          for (let i = 1; i < 4; i++) expect(bilinear[i]).toBeLessThan(bilinear[i - 1]);
        }
      }
      expect(logs.join('\n')).toMatch(/\| noise bin \| σ\(0\.18\) \| crops \| method \|/);
    } finally {
      quiet.mockRestore();
    }
    expect(await runCli(['eval', '--data', photos, '--methods', 'bilinear', '--noise-bins', '1'])).toBe(2);
  }, 120_000);
});

describe('rddm eval --split', () => {
  it('evaluates the listed photos of the split and names the split in its JSON', async () => {
    need('data/photos/validation');
    const list = parsePhotoList(JSON.parse(readFileSync('datasets/photos.json', 'utf8')));
    const json = join(dir, 'validation.json');
    const quiet = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      expect(await runCli(['eval', '--split', 'validation', '--methods', 'bilinear', '--patterns', 'RGGB', '--crop', '48', '--json', json])).toBe(0);
    } finally {
      quiet.mockRestore();
    }
    const r: Report = JSON.parse(readFileSync(json, 'utf8'));
    expect([r.split, r.data]).toEqual(['validation', 'data/photos/validation']);
    expect(r.photos).toEqual(list.validation.map((e) => e.file).sort());
  });
});
