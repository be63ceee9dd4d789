// `rddm train-rvae --stage 1 --vae/--unet` picks the models of a from-scratch run; the weights name them, and
// --resume continues the same run.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { needInSuite } from '../helpers/need-in-suite.js';
import { loadRddmDir } from '../../src/node/rddm-weights.js';
import { vaeDownscale } from '../../src/models/configs.js';

const dir = mkdtempSync(join(tmpdir(), 'rddm-train-models-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('train-rvae --vae', () => {
  needInSuite('data/photos/train'); // the training photos (scripts/fetch-photos.sh)
  it('trains the named VAE, records it in the weights, and resumes with it', async () => {
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
    const run = join(dir, 'run');
    const args = ['train-rvae', '--stage', '1', '--vae', 'tiny-vae-x2-l16', '--unet', 'tiny-unet-l16', '--lora-rank', '8', '--per-channel-exposure', '--crop', '16', '--batch', '1', '--seed', '2', '--run', run, '--out', join(run, 'w')];
    try {
      expect(await runCli([...args, '--steps', '2'])).toBe(0);
      expect(await runCli([...args, '--steps', '3', '--resume'])).toBe(0);
    } finally {
      quiet.mockRestore();
    }
    const manifest = JSON.parse(readFileSync(join(run, 'w', 'manifest.json'), 'utf8'));
    expect([manifest.config.vae, manifest.config.unet, manifest.config.loraRank, manifest.config.exposurePerChannel, manifest.steps]).toEqual(['tiny-vae-x2-l16', 'tiny-unet-l16', 8, true, 3]);
    const { sys } = await loadRddmDir(join(run, 'w'));
    expect([vaeDownscale(sys.vae.config), sys.vae.config.latentChannels]).toEqual([2, 16]);
    // The next stage takes the models and the rank from --init, and refuses to be told otherwise.
    expect(await runCli(['train-rvae', '--stage', '2', '--init', join(run, 'w'), '--lora-rank', '4', '--run', join(dir, 'r2')])).toBe(2);
    expect(await runCli(['train-rvae', '--stage', '2', '--init', join(run, 'w'), '--per-channel-exposure', '--run', join(dir, 'r2')])).toBe(2);
    // Stage 2 runs on those weights (its mosaic gains need the pattern).
    const quiet2 = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(await runCli(['train-rvae', '--stage', '2', '--init', join(run, 'w'), '--steps', '1', '--crop', '16', '--batch', '1', '--run', join(dir, 'r2'), '--out', join(dir, 'r2', 'w')])).toBe(0);
    } finally {
      quiet2.mockRestore();
    }
  }, 120_000);

  it('--lr-schedule cosine decays the logged learning rate over --steps; a bad value is a usage error', async () => {
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
    const run = join(dir, 'cos');
    try {
      expect(await runCli(['train-rvae', '--stage', '1', '--lr-schedule', 'linear', '--run', run])).toBe(2);
      expect(await runCli(['train-rvae', '--stage', '1', '--lr-schedule', 'cosine', '--lr', '1e-3', '--steps', '3', '--crop', '16', '--batch', '1', '--run', run, '--out', join(run, 'w')])).toBe(0);
    } finally {
      quiet.mockRestore();
    }
    const lrs = readFileSync(join(run, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).lr);
    // 3 steps: no warm-up (2% of 3 rounds to 0), then 1e-3 → 5.5e-4 → 1e-4.
    expect(lrs.length).toBe(3);
    expect(lrs[0]).toBeGreaterThan(lrs[1]);
    expect(lrs[2]).toBeCloseTo(1e-4, 9);
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

  it('--lora-rank with --init grows the CMB-LoRA of the one-step stage, refuses to shrink it or to pass a layer\'s width', async () => {
    const errors: string[] = [];
    const quiet = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void errors.push(a.join(' ')));
    const run = join(dir, 'grow');
    const small = ['--steps', '1', '--crop', '16', '--batch', '1'];
    const onestep = (init: string, rank: number, name: string) => runCli(['train', ...small, '--init', init, '--lora-rank', String(rank), '--run', join(run, name), '--out', join(run, name, 'w')]);
    try {
      expect(await runCli(['train-rvae', '--stage', '1', '--vae', 'tiny-vae-x2', ...small, '--run', join(run, 's1'), '--out', join(run, 's1', 'w')])).toBe(0);
      expect(await onestep(join(run, 's1', 'w'), 6, 'a')).toBe(0);
      expect(await onestep(join(run, 'a', 'w'), 9, 'b')).toBe(0);
      expect(await onestep(join(run, 'a', 'w'), 5, 'c')).toBe(1);
      // tiny-vae-x2's encoder conv_out has 2 × 8 = 16 outputs: no rank above 16 is of use there, and loadLora refuses
      // such files, so training must refuse it before writing anything.
      errors.length = 0;
      expect(await onestep(join(run, 's1', 'w'), 17, 'd')).toBe(1);
    } finally {
      quiet.mockRestore();
    }
    expect(errors.join('\n')).toMatch(/rank 17 exceeds 16, the most layer 'encoder\.conv_out'.*at most 16/);
    expect(existsSync(join(run, 'd', 'w', 'manifest.json'))).toBe(false);
    const { sys } = await loadRddmDir(join(run, 'b', 'w'));
    expect(sys.config.loraRank).toBe(9);
    for (const part of [sys.unet, sys.raw_encoder]) {
      const [, a] = part.namedParameters().find(([k]) => k.endsWith('lora_A.RGGB.weight'))!;
      expect(a.shape[0]).toBe(9);
    }
  }, 180_000);

  it('--per-channel-exposure switches --init weights over in stage 1 (only there)', async () => {
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
    const run = join(dir, 'pc');
    const small = ['--steps', '1', '--crop', '16', '--batch', '1'];
    try {
      expect(await runCli(['train-rvae', '--stage', '1', ...small, '--run', join(run, 'a'), '--out', join(run, 'a', 'w')])).toBe(0);
      expect(await runCli(['train-rvae', '--stage', '1', '--init', join(run, 'a', 'w'), '--per-channel-exposure', ...small, '--run', join(run, 'b'), '--out', join(run, 'b', 'w')])).toBe(0);
    } finally {
      quiet.mockRestore();
    }
    const before = JSON.parse(readFileSync(join(run, 'a', 'w', 'manifest.json'), 'utf8'));
    const after = JSON.parse(readFileSync(join(run, 'b', 'w', 'manifest.json'), 'utf8'));
    expect([before.config.exposurePerChannel ?? false, after.config.exposurePerChannel]).toEqual([false, true]);
    const { sys } = await loadRddmDir(join(run, 'b', 'w'));
    expect(sys.config.exposurePerChannel).toBe(true);
  }, 120_000);
});
