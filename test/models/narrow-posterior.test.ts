// AutoencoderKL.narrowPosterior and `train-rvae --stage 1 --posterior-logvar`: an untrained RVAE's posterior starts
// narrow, so stage 1 from scratch does not spend thousands of steps shrinking latent noise of std ≈ 1.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { init } from '../../src/index.js';
import { AutoencoderKL } from '../../src/models/vae.js';
import { MODEL_CONFIGS } from '../../src/models/configs.js';
import { manualSeed, randn } from '../../src/ops/random.js';
import { noGrad } from '../../src/autograd/graph.js';
import { runCli } from '../../src/cli/cli.js';
import { loadRddmDir } from '../../src/node/rddm-weights.js';
import { needInSuite } from '../helpers/need-in-suite.js';

const dir = mkdtempSync(join(tmpdir(), 'rddm-narrow-posterior-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(async () => void (await init()));

const biasOf = async (vae: AutoencoderKL) => Array.from(await vae.namedParameters().find(([n]) => n === 'quant_conv.bias')![1].data());

describe('AutoencoderKL.narrowPosterior', () => {
  it('sets the log-variance half of quant_conv.bias and leaves the mean half and the outputs of the mean alone', async () => {
    manualSeed(3);
    const vae = new AutoencoderKL(MODEL_CONFIGS['lean-vae-x2-l16']);
    const l = vae.config.latentChannels;
    const before = await biasOf(vae);
    const x = noGrad(() => randn([1, 3, 16, 16]).mul(0.1).add(0.3));
    const meanBefore = Array.from(await noGrad(() => vae.encode(x).mean).data());
    vae.narrowPosterior(-12);
    const after = await biasOf(vae);
    expect(after.slice(0, l)).toEqual(before.slice(0, l));
    expect(after.slice(l)).toEqual(new Array(l).fill(-12));
    // The random init's log-variances sit near 0; now every one is near -12 (the weights still add W·h).
    const post = vae.encode(x);
    const lv = Array.from(await post.logvar.data());
    expect(Array.from(await post.mean.data())).toEqual(meanBefore);
    const avg = lv.reduce((s, v) => s + v, 0) / lv.length;
    expect(avg).toBeGreaterThan(-13);
    expect(avg).toBeLessThan(-11);
    expect(before.slice(l).every((v) => Math.abs(v) < 1)).toBe(true);
  });
});

describe('train-rvae --stage 1 --posterior-logvar', () => {
  it('refuses it where no untrained encoder is made, and bad values', async () => {
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(await runCli(['train-rvae', '--stage', '1', '--posterior-logvar', 'wide', '--run', join(dir, 'x')])).toBe(2);
      expect(await runCli(['train-rvae', '--stage', '1', '--posterior-logvar', '-40', '--run', join(dir, 'x')])).toBe(2);
      expect(await runCli(['train-rvae', '--stage', '2', '--init', 'weights/rddm-tiny', '--posterior-logvar', '-12', '--run', join(dir, 'x')])).toBe(2);
    } finally {
      quiet.mockRestore();
    }
  });

  needInSuite('data/photos/train'); // the training photos (scripts/fetch-photos.sh)
  it('starts from -12 by default and from the random init with `random`', async () => {
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
    const train = async (name: string, extra: string[]) => {
      const run = join(dir, name);
      expect(await runCli(['train-rvae', '--stage', '1', '--vae', 'lean-vae-x2', '--unet', 'lean-unet-3', '--lr', '1e-6', '--steps', '1', '--crop', '16', '--batch', '1', '--run', run, '--out', join(run, 'w'), ...extra])).toBe(0);
      const { sys } = await loadRddmDir(join(run, 'w'));
      return (await biasOf(sys.vae)).slice(sys.vae.config.latentChannels);
    };
    try {
      // One step at lr 1e-6 moves a bias by ~1e-6: still where it started.
      for (const v of await train('default', [])) expect(v).toBeCloseTo(-12, 3);
      for (const v of await train('given', ['--posterior-logvar', '-8'])) expect(v).toBeCloseTo(-8, 3);
      for (const v of await train('random', ['--posterior-logvar', 'random'])) expect(Math.abs(v)).toBeLessThan(1);
    } finally {
      quiet.mockRestore();
    }
  }, 180_000);
});
