// A restore that would not fit the device is refused before any GPU work, naming the limit, the size and the
// option that fits: a tile whose largest activation is over maxStorageBufferBindingSize, a tile over the memory
// budget, an image whose full-size result is over the budget on the host. Checked with small fake limits on the
// pure check, then through restoreRaw and `rddm restore` on this device's real limit.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { getDevice, init, manualSeed } from '../../src/index.js';
import { getModelConfig, type UNetConfig, type VaeConfig } from '../../src/models/configs.js';
import { checkRestoreFits, tileCost } from '../../src/rddm/restore-budget.js';
import { restoreRaw } from '../../src/rddm/restore.js';
import { DEFAULT_RDDM_CONFIG, RddmSystem } from '../../src/rddm/system.js';
import { writeDng } from '../../src/raw/dng-writer.js';
import type { RawImage } from '../../src/raw/raw-image.js';
import { runCli } from '../../src/cli/cli.js';

const vae = getModelConfig('tiny-vae') as VaeConfig;
const unet = getModelConfig('tiny-unet') as UNetConfig;
const MiB = 2 ** 20;
const dir = mkdtempSync(join(tmpdir(), 'rddm-restore-limits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function raw(width: number, height: number): RawImage {
  return {
    make: 'Test', model: 'Cam', width, height, mosaic: new Uint16Array(width * height).fill(1000), cfaPattern: 'RGGB', blackLevel: [64, 64, 64, 64],
    whiteLevel: 4095, asShotWB: [2, 1, 1.5], cam2rgb: [[1, 0, 0], [0, 1, 0], [0, 0, 1]], bitDepth: 12, orientation: 1, format: 'dng', warnings: [],
  };
}

describe('restore resource limits', () => {
  it('refuses a tile over the binding limit or the budget, naming the --tile that fits (fake limits)', () => {
    expect(tileCost(vae, unet, 512, 512).largestBytes).toBe(64 * MiB); // decoder up_blocks.1: 64 channels at 512x512
    const binding = { bindingBytes: 32 * MiB, budgetBytes: 4096 * MiB };
    const err = (() => {
      try {
        checkRestoreFits(vae, unet, 2000, 3000, 512, 512, 8, binding);
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    expect(err).toMatch(/^restore: a 512x512 tile needs a 64\.0 MiB tensor \(decoder\.up_blocks\.1 \(conv 64->64\)\), over this device's maxStorageBufferBindingSize of 32\.0 MiB; use --tile (\d+) or smaller$/);
    const fit = Number(/--tile (\d+)/.exec(err)![1]);
    expect(fit % 8).toBe(0);
    expect(tileCost(vae, unet, fit, fit).largestBytes).toBeLessThanOrEqual(32 * MiB);
    expect(tileCost(vae, unet, fit + 8, fit + 8).largestBytes).toBeGreaterThan(32 * MiB);
    expect(() => checkRestoreFits(vae, unet, 2000, 3000, fit, fit, 8, binding)).not.toThrow();

    expect(() => checkRestoreFits(vae, unet, 1000, 1000, 512, 512, 8, { bindingBytes: 1024 * MiB, budgetBytes: 100 * MiB })).toThrow(
      /^restore: a 512x512 tile needs ~160\.0 MiB of GPU memory, over the 100\.0 MiB memory budget \(--max-memory\); use --tile \d+ or smaller$/,
    );
    expect(() => checkRestoreFits(vae, unet, 2000, 3000, 512, 512, 8, { bindingBytes: 1024, budgetBytes: 4096 * MiB })).toThrow(/no tile of at least 8 pixels fits this device/);
    expect(() => checkRestoreFits(vae, unet, 20_000, 30_000, 512, 512, 8, { bindingBytes: 1024 * MiB, budgetBytes: 4096 * MiB })).toThrow(
      /^restore: a 30000x20000 image needs ~16\.2 GiB of host memory for its full-resolution result, over the 4\.0 GiB memory budget; use --bin 3 \(a 3x smaller preview\) or raise --max-memory$/,
    );
  });

  it('restoreRaw and `rddm restore` refuse before any GPU work on this device’s real binding limit', async () => {
    await init();
    const limit = getDevice().limits.maxStorageBufferBindingSize;
    // A tile big enough that its largest activation is over the device's limit, whatever that is.
    let side = 512;
    while (tileCost(vae, unet, side, side).largestBytes <= limit) side *= 2;
    manualSeed(1);
    const sys = new RddmSystem({ ...DEFAULT_RDDM_CONFIG });
    const t0 = performance.now();
    await expect(restoreRaw(sys, raw(side, side), { tile: side })).rejects.toThrow(
      new RegExp(`^restore: a ${side}x${side} tile needs a [\\d.]+ MiB tensor \\(.*\\), over this device's maxStorageBufferBindingSize of [\\d.]+ MiB; use --tile \\d+ or smaller$`),
    );
    expect(performance.now() - t0).toBeLessThan(10_000);

    const file = join(dir, 'big.dng');
    writeFileSync(file, writeDng(raw(side, side)));
    const err: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
    let code: number;
    let budget: number;
    try {
      code = await runCli(['restore', file, '-o', join(dir, 'out.png'), '--tile', String(side), '--weights', 'weights/rddm-tiny']);
      // 512² tiles: the default tile of the shipped ×2 weights (256²) fits 64 MiB and would start restoring.
      budget = await runCli(['restore', file, '-o', join(dir, 'out.png'), '--max-memory', '64', '--tile', '512', '--weights', 'weights/rddm-tiny']);
    } finally {
      spy.mockRestore();
    }
    expect(code).toBe(1);
    expect(err.join('\n')).toMatch(/rddm restore: restore: a \d+x\d+ tile needs a [\d.]+ MiB tensor .* maxStorageBufferBindingSize of [\d.]+ MiB; use --tile \d+ or smaller/);
    expect(budget).toBe(1);
    expect(err.join('\n')).toMatch(/GPU memory, over the 64\.0 MiB memory budget \(--max-memory\); use --tile \d+ or smaller/);
  }, 120_000);
});
