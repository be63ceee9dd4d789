// `rddm train-rvae --stage 1 --vae/--unet` picks the models of a from-scratch run; the weights name them, and
// --resume continues the same run.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { loadRddmDir } from '../../src/node/rddm-weights.js';
import { vaeDownscale } from '../../src/models/configs.js';

const dir = mkdtempSync(join(tmpdir(), 'rddm-train-models-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('train-rvae --vae', () => {
  it('trains the named VAE, records it in the weights, and resumes with it', async () => {
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
    const run = join(dir, 'run');
    const args = ['train-rvae', '--stage', '1', '--vae', 'tiny-vae-x2', '--crop', '16', '--batch', '1', '--seed', '2', '--run', run, '--out', join(run, 'w')];
    try {
      expect(await runCli([...args, '--steps', '2'])).toBe(0);
      expect(await runCli([...args, '--steps', '3', '--resume'])).toBe(0);
    } finally {
      quiet.mockRestore();
    }
    const manifest = JSON.parse(readFileSync(join(run, 'w', 'manifest.json'), 'utf8'));
    expect([manifest.config.vae, manifest.config.unet, manifest.steps]).toEqual(['tiny-vae-x2', 'tiny-unet', 3]);
    const { sys } = await loadRddmDir(join(run, 'w'));
    expect(vaeDownscale(sys.vae.config)).toBe(2);
  }, 120_000);

  it('--permute-colours reaches the run (its config, kept in the checkpoint)', async () => {
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
    const run = join(dir, 'perm');
    try {
      expect(await runCli(['train-rvae', '--stage', '1', '--permute-colours', '--steps', '1', '--crop', '16', '--batch', '1', '--run', run, '--out', join(run, 'w')])).toBe(0);
    } finally {
      quiet.mockRestore();
    }
    const header = readFileSync(join(run, 'checkpoint.safetensors')).subarray(0, 1 << 20).toString('latin1');
    // The run config is a JSON string inside the safetensors metadata, so its quotes are escaped there.
    expect(header).toMatch(/permuteChannels\\?":true/);
  }, 120_000);
});
