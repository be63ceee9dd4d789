// `rddm train --mode onestep --colour-fix SIGMA` trains through the low-frequency colour fix and keeps it in the
// weights' config; other stages refuse it.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { need } from '../helpers/requirements.js';

const dir = mkdtempSync(join(tmpdir(), 'rddm-train-colour-fix-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('rddm train --colour-fix', () => {
  it('changes what the pixel losses see and records σ in the weights (0 removes it)', async () => {
    need('data/photos/train');
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
    const run = (sigma: string) => join(dir, `s${sigma}`);
    try {
      for (const sigma of ['0', '3']) {
        const args = ['train', '--init', 'weights/rddm-tiny', '--steps', '1', '--crop', '64', '--batch', '1', '--seed', '5', '--colour-fix', sigma];
        expect(await runCli([...args, '--run', run(sigma), '--out', join(run(sigma), 'w')])).toBe(0);
      }
    } finally {
      quiet.mockRestore();
    }
    const first = (sigma: string) => JSON.parse(readFileSync(join(run(sigma), 'log.jsonl'), 'utf8').split('\n')[0]);
    const [off, on] = [first('0'), first('3')];
    // Same batch and weights: the latent loss is the same, the image losses are not (on a training crop the model's
    // low frequencies are already close, so the change is small, but far above run-to-run float noise, which is 0).
    expect(on.latent).toBe(off.latent);
    expect(Math.abs(on.pixel - off.pixel)).toBeGreaterThan(1e-5 * off.pixel);
    const config = (sigma: string) => JSON.parse(readFileSync(join(run(sigma), 'w', 'manifest.json'), 'utf8')).config;
    expect(config('3').colourFixSigma).toBe(3);
    expect(config('0').colourFixSigma).toBeUndefined();
  }, 120_000);

  it('is refused by stages without a restored image, and out of range', async () => {
    const bad = join(dir, 'bad');
    expect(await runCli(['train-rvae', '--stage', '1', '--colour-fix', '4', '--run', bad])).toBe(2);
    expect(await runCli(['train', '--mode', 'multistep', '--init', 'weights/rddm-tiny', '--colour-fix', '4', '--run', bad])).toBe(2);
    expect(await runCli(['train', '--init', 'weights/rddm-tiny', '--colour-fix', '100', '--run', bad])).toBe(2);
    // --colour-fix-band: the one-step stage only, and below the σ given with it.
    expect(await runCli(['train-rvae', '--stage', '1', '--colour-fix-band', '1.5', '--run', bad])).toBe(2);
    expect(await runCli(['train', '--init', 'weights/rddm-tiny', '--colour-fix-band', '1.5', '--run', bad])).toBe(2);
    expect(await runCli(['train', '--init', 'weights/rddm-tiny', '--colour-fix', '4', '--colour-fix-band', '4', '--run', bad])).toBe(2);
    // The shipped weights blend a band from 1.5 px: a σ at or below it is refused before any step.
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(await runCli(['train', '--init', 'weights/rddm-tiny', '--colour-fix', '1', '--steps', '1', '--run', bad])).toBe(1);
    } finally {
      quiet.mockRestore();
    }
    expect(existsSync(join(bad, 'checkpoint.safetensors'))).toBe(false);
  });
});
