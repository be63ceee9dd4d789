// `rddm train --lambda-latent/--lambda-pixel/--lambda-ssim/--lambda-linear` weigh the one-step stage's loss terms.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { need } from '../helpers/requirements.js';

const dir = mkdtempSync(join(tmpdir(), 'rddm-loss-weights-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('rddm train --lambda-*', () => {
  it('weighs each logged term into the logged loss', async () => {
    need('data/photos/train');
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
    const run = join(dir, 'w');
    try {
      const args = ['train', '--init', 'weights/rddm-tiny', '--steps', '2', '--crop', '16', '--batch', '1', '--seed', '4', '--run', run, '--out', join(run, 'w')];
      expect(await runCli([...args, '--lambda-latent', '0.5', '--lambda-pixel', '30', '--lambda-ssim', '0.05', '--lambda-linear', '40'])).toBe(0);
    } finally {
      quiet.mockRestore();
    }
    const rows = readFileSync(join(run, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.length).toBe(2);
    for (const r of rows) {
      // The linear term is logged only where it is on, and it is a mean squared error of images in [0, 1].
      expect(r.linear).toBeGreaterThan(0);
      expect(r.linear).toBeLessThan(1);
      const weighted = 0.5 * r.latent + 30 * r.pixel + 0.05 * r.one_minus_ssim + 40 * r.linear;
      // The defaults (1, 1, 0.2, 0) would give another total: the check can tell them apart.
      const unweighted = r.latent + r.pixel + 0.2 * r.one_minus_ssim;
      expect(Math.abs(weighted - unweighted)).toBeGreaterThan(1e-3 * weighted);
      expect(r.loss).toBeCloseTo(weighted, 5);
    }
  }, 120_000);

  it('refuses negative, non-numeric and all-zero weights, and stages without the dual-domain loss', async () => {
    const base = ['train', '--init', 'weights/rddm-tiny', '--run', join(dir, 'bad')];
    expect(await runCli([...base, '--lambda-pixel', '-1'])).toBe(2);
    expect(await runCli([...base, '--lambda-ssim', 'some'])).toBe(2);
    expect(await runCli([...base, '--lambda-latent', '0', '--lambda-pixel', '0', '--lambda-ssim', '0'])).toBe(2);
    expect(await runCli([...base, '--lambda-latent', '0', '--lambda-pixel', '0', '--lambda-ssim', '0', '--lambda-linear', '0'])).toBe(2);
    expect(await runCli([...base, '--lambda-linear', '-3'])).toBe(2);
    expect(await runCli(['train', '--mode', 'multistep', '--init', 'weights/rddm-tiny', '--lambda-pixel', '2', '--run', join(dir, 'bad')])).toBe(2);
    expect(await runCli(['train-rvae', '--stage', '1', '--lambda-latent', '2', '--run', join(dir, 'bad')])).toBe(2);
  });
});
