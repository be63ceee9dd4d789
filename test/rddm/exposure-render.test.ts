// `rddm restore --exposure` and the web page's pipeline (web/raw-pipeline.ts, run here in Node): one gain for the
// preview and the restored picture, taken from the RAW the same way, so the page's picture is the CLI's PNG.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { init } from '../../src/index.js';
import { runCli } from '../../src/cli/cli.js';
import { decodePng } from '../../src/io/png.js';
import { loadRddmDir } from '../../src/node/rddm-weights.js';
import { defaultWeightsDir } from '../../src/node/paths.js';
import { autoExposureGain, describeGain } from '../../src/rddm/exposure.js';
import { linearToSrgb8, rawRenderParams } from '../../src/rddm/render.js';
import { decodeRaw, previewRaw, renderLinear, restoreToSrgb } from '../../web/raw-pipeline.js';

const SAMPLE = 'samples/astronaut-256.dng';
const BIN = 4; // 64×64: seconds on lavapipe
const dir = mkdtempSync(join(tmpdir(), 'rddm-exposure-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cliRestore(extra: string[]): Promise<{ px: Uint8Array; log: string }> {
  const out = join(dir, `r${extra.join('')}.png`);
  const err: string[] = [];
  const spy = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    expect(await runCli(['restore', SAMPLE, '-o', out, '--bin', String(BIN), ...extra])).toBe(0);
  } finally {
    spy.mockRestore();
    log.mockRestore();
  }
  return { px: (await decodePng(new Uint8Array(readFileSync(out)), out)).data as Uint8Array, log: err.join('\n') };
}

function mean(px: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < px.length; i++) s += px[i]!;
  return s / px.length;
}

describe('rendering at an exposure', () => {
  beforeAll(async () => {
    await init();
  });

  it('scales linear light after the sensor clip: gain g renders what g times the light would, below the white', async () => {
    const w = 5, h = 3, lin = new Float32Array(3 * w * h).map((_, i) => 0.02 + 0.1 * ((i * 7) % 9) / 9);
    const raw = { asShotWB: [1.8, 1, 1.4] as [number, number, number], cam2rgb: [[1.6, -0.4, -0.2], [-0.2, 1.4, -0.2], [0, -0.5, 1.5]] as [[number, number, number], [number, number, number], [number, number, number]] };
    const scaled = await linearToSrgb8(lin.map((v) => v * 2), w, h, rawRenderParams(raw));
    expect(Array.from(await linearToSrgb8(lin, w, h, rawRenderParams(raw, 2)))).toEqual(Array.from(scaled));
    // A highlight the sensor clipped stays white-balanced white at any gain ≥ 1, as in dcraw.
    const white = new Float32Array(3).fill(1);
    expect(Array.from(await linearToSrgb8(white, 1, 1, rawRenderParams(raw, 3)))).toEqual([255, 255, 255]);
  });

  it('the CLI defaults to dcraw\'s automatic brightness; the web pipeline renders the preview and the PNG with the same gain, the same pixels', async () => {
    const raw = await decodeRaw(new Uint8Array(readFileSync(SAMPLE)), 'astronaut-256.dng', BIN);
    const gain = autoExposureGain(raw);
    const auto = await cliRestore([]);
    expect(auto.log).toContain(`exposure auto (dcraw's white point): ${describeGain(gain)}`);
    const none = await cliRestore(['--exposure', 'none']);
    const ev = await cliRestore(['--exposure', String(Math.log2(gain))]);
    expect(mean(auto.px)).toBeGreaterThan(mean(none.px));
    // A fixed EV equal to the automatic gain renders the same picture (within a rounding of log2/2^).
    let maxDiff = 0;
    for (let i = 0; i < auto.px.length; i++) maxDiff = Math.max(maxDiff, Math.abs(auto.px[i]! - ev.px[i]!));
    expect(maxDiff).toBeLessThanOrEqual(1);

    // The page's steps, in Node: restore and preview at the gain the page takes from its Exposure menu (auto).
    const { sys } = await loadRddmDir(defaultWeightsDir());
    const res = await restoreToSrgb(sys, raw, 'astronaut-256.dng', gain, () => {});
    expect(Array.from(res.image.data)).toEqual(Array.from(auto.px));
    // Rendering the kept linear output again (what the menu does) gives the CLI's picture at that exposure.
    const again = await renderLinear(res.linear, res.image.width, res.image.height, raw, 1);
    expect(Array.from(again.data)).toEqual(Array.from(none.px));
    const preview = await previewRaw(raw, gain);
    expect(Array.from(preview.image.data)).toEqual(Array.from((await renderLinear(preview.linear, raw.width, raw.height, raw, gain)).data));
    const previewNone = await renderLinear(preview.linear, raw.width, raw.height, raw, 1);
    console.log(`[exposure] ${SAMPLE} at 1/${BIN}: auto ${describeGain(gain)}; mean sRGB level, restored: none ${mean(none.px).toFixed(1)}, auto ${mean(auto.px).toFixed(1)}; preview: none ${mean(previewNone.data).toFixed(1)}, auto ${mean(preview.image.data).toFixed(1)}`);
    // Both sides of the page's comparison brighten alike.
    const ratio = (a: number, b: number) => a / b;
    expect(Math.abs(Math.log(ratio(mean(preview.image.data), mean(previewNone.data)) / ratio(mean(auto.px), mean(none.px))))).toBeLessThan(Math.log(1.15));
  }, 300_000);
});
