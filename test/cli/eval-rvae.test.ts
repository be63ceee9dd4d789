// `rddm eval --methods rvae,ceiling`: the RVAE's reconstruction of the clean image, bare (rvae: it sees HQ only, so
// it must not move with the LQ mosaic) and through RDDM's output stage fed the LQ mosaic (ceiling: RDDM with a
// perfect latent); --methods eraw, RDDM with its UNet step skipped.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { ceilingMethod, erawMethod, rddmMethod, rvaeMethod } from '../../src/cli/commands/eval.js';
import { writeEvalPhoto } from '../helpers/eval-photo.js';
import { init } from '../../src/index.js';
import { loadRddmDir } from '../../src/node/rddm-weights.js';
import { defaultWeightsDir } from '../../src/node/paths.js';
import { tensor } from '../../src/ops/creation.js';
import { noGrad } from '../../src/autograd/graph.js';

const dir = mkdtempSync(join(tmpdir(), 'rddm-eval-rvae-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('rddm eval --methods rvae', () => {
  it('scores the same at every noise level whatever the noise', async () => {
    const photos = await writeEvalPhoto(dir, 'gradient', (x, y) => [40 + 3 * x, 60 + 2 * y, (x ^ y) & 8 ? 200 : 80]);
    const quiet = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      const json = join(dir, 'e.json');
      // Four crops swept over four noise bins: bilinear varies with the noise, the reconstruction cannot.
      expect(await runCli(['eval', '--data', photos, '--methods', 'rvae,ceiling,bilinear', '--patterns', 'RGGB', '--crop', '48', '--crops-per-image', '4', '--noise-sweep', '--json', json])).toBe(0);
      const r = JSON.parse(readFileSync(json, 'utf8'));
      const of = (m: string) => r.bins.map((b: { rows: { method: string; psnr_srgb: number }[] }) => b.rows.find((x) => x.method === m)!.psnr_srgb);
      const rv = of('rvae'), bl = of('bilinear');
      expect(bl[0] - bl[3]).toBeGreaterThan(3); // the noise does change the bins
      // Each bin holds a different crop, so the reconstruction's bins differ by content only: far less than bilinear's.
      expect(Math.max(...rv) - Math.min(...rv)).toBeLessThan((bl[0] - bl[3]) / 2);
      expect(rv.every((v: number) => v > 10 && v < 80)).toBe(true);
      // The ceiling row is there, with the output stage's settings recorded as for RDDM rows.
      expect(of('ceiling').every((v: number) => Number.isFinite(v))).toBe(true);
      expect(r.colourFixSigma).toBeGreaterThan(0);
    } finally {
      quiet.mockRestore();
    }
  }, 180_000);

  it('rvae returns D_lin(E_lin(HQ)) and ignores the mosaic; ceiling puts it through finishImage with the mosaic', async () => {
    await init();
    const sys = (await loadRddmDir(defaultWeightsDir())).sys;
    const method = rvaeMethod(sys);
    const H = 32, W = 32;
    const hq = new Float32Array(3 * H * W).map((_, i) => 0.05 + 0.3 * (((i * 2654435761) >>> 0) % 1000) / 1000);
    const hqLinear = tensor(hq, [1, 3, H, W]);
    const lqA = tensor(new Float32Array(H * W).fill(0.2), [1, 1, H, W]);
    const lqB = tensor(new Float32Array(H * W).fill(0.7), [1, 1, H, W]);
    const batch = (lq: typeof lqA) => ({ lq, hqLinear, patterns: ['RGGB'] }) as unknown as Parameters<typeof method>[0];
    const a = await (await method(batch(lqA))).data();
    const b = await (await method(batch(lqB))).data();
    expect(Array.from(a)).toEqual(Array.from(b));
    // The same reconstruction by hand, through the system's public steps.
    const direct = noGrad(() => {
      const g = sys.exposureGain(hqLinear);
      return sys.decodeLatent(sys.linearLatent(hqLinear, g), g);
    });
    const d = await direct.data();
    let maxDiff = 0;
    for (let i = 0; i < d.length; i++) maxDiff = Math.max(maxDiff, Math.abs(d[i] - a[i]));
    expect(maxDiff).toBe(0);
    // ceiling = RDDM's output stage (matching, colour fix) on that reconstruction with the batch's own mosaic.
    const ceiling = ceilingMethod(sys);
    const cA = await (await ceiling(batch(lqA))).data();
    const cB = await (await ceiling(batch(lqB))).data();
    const byHand = await noGrad(() => sys.finishImage(direct, lqA, 'RGGB')).data();
    expect(Array.from(cA)).toEqual(Array.from(byHand));
    // Unlike rvae it takes colour from the mosaic: another mosaic, another output.
    let moved = 0;
    for (let i = 0; i < cA.length; i++) moved = Math.max(moved, Math.abs(cA[i] - cB[i]));
    expect(moved).toBeGreaterThan(1e-3);
    // A reconstruction, not a copy: close to HQ but not equal.
    let se = 0;
    for (let i = 0; i < hq.length; i++) se += (a[i] - hq[i]) ** 2;
    expect(se / hq.length).toBeGreaterThan(0);
  }, 120_000);

  it('eraw decodes E_raw(LQ) through the output stage without the UNet step, per pattern', async () => {
    await init();
    const sys = (await loadRddmDir(defaultWeightsDir())).sys;
    const H = 32, W = 32;
    const lqData = new Float32Array(H * W).map((_, i) => 0.1 + 0.4 * (((i * 2246822519) >>> 0) % 1000) / 1000);
    const lq = tensor(lqData, [1, 1, H, W]);
    const hqLinear = tensor(new Float32Array(3 * H * W).fill(0.3), [1, 3, H, W]);
    const batch = (p: string) => ({ lq, hqLinear, patterns: [p] }) as unknown as Parameters<ReturnType<typeof erawMethod>>[0];
    const eraw = erawMethod(sys);
    const out = await (await eraw(batch('GBRG'))).data();
    // By hand: the pattern's adapter, s·E_raw at the mosaic's gain, D_lin, then the output stage.
    const byHand = await noGrad(() => {
      sys.setPattern('GBRG');
      const g = sys.exposureGain(lq, 'GBRG');
      return sys.finishImage(sys.decodeLatent(sys.rawLatent(lq, 'GBRG', g), g), lq, 'GBRG');
    }).data();
    expect(Array.from(out)).toEqual(Array.from(byHand));
    // Not RDDM (the UNet step changes the latent), and the pattern matters (another adapter, other sites).
    const full = await (await rddmMethod(sys)(batch('GBRG'))).data();
    const other = await (await eraw(batch('RGGB'))).data();
    const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
    expect(maxDiff(out, full)).toBeGreaterThan(1e-3);
    expect(maxDiff(out, other)).toBeGreaterThan(1e-3);
  }, 120_000);
});
