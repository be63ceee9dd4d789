// `rddm train --mode onestep --train-unet-base`: the UNet's base weights train with the CMB-LoRA; without it they stay
// frozen, as OSEDiff keeps them. Other stages refuse the flag.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { init } from '../../src/index.js';
import { loadRddmDir } from '../../src/node/rddm-weights.js';
import { need } from '../helpers/requirements.js';

const dir = mkdtempSync(join(tmpdir(), 'rddm-train-unet-base-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Largest absolute change of each named base tensor between two weight folders. */
async function changes(a: string, b: string, names: string[]): Promise<number[]> {
  await init();
  const [x, y] = [(await loadRddmDir(a)).sys, (await loadRddmDir(b)).sys];
  const of = (s: typeof x) => new Map(s.namedParameters());
  const [px, py] = [of(x), of(y)];
  return Promise.all(
    names.map(async (n) => {
      const [u, v] = [await px.get(n)!.data(), await py.get(n)!.data()];
      return u.reduce((m, val, i) => Math.max(m, Math.abs(val - v[i])), 0);
    }),
  );
}

describe('rddm train --train-unet-base', () => {
  it('moves the base UNet weights only when given', async () => {
    need('data/photos/train');
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
    const out = (k: string) => join(dir, k, 'w');
    try {
      for (const k of ['frozen', 'base']) {
        const args = ['train', '--init', 'weights/rddm-tiny', '--steps', '1', '--crop', '32', '--batch', '1', '--seed', '5', '--lr', '1e-3', '--run', join(dir, k), '--out', out(k)];
        expect(await runCli(k === 'base' ? [...args, '--train-unet-base'] : args)).toBe(0);
      }
    } finally {
      quiet.mockRestore();
    }
    // Base tensors deep in the UNet (not conv_in, which trains either way).
    const base = ['unet.down_blocks.0.resnets.0.conv1.weight', 'unet.mid_block.resnets.0.conv2.weight', 'unet.conv_out.weight'];
    const frozen = await changes('weights/rddm-tiny', out('frozen'), [...base]);
    const trained = await changes('weights/rddm-tiny', out('base'), [...base]);
    expect(frozen).toEqual([0, 0, 0]);
    for (const c of trained) expect(c).toBeGreaterThan(0);
    // Both runs step the adapters of the batch's pattern (the seed fixes it); some adapter moved in each.
    const names = [...new Map((await loadRddmDir(out('frozen'))).sys.namedParameters()).keys()].filter((n) => /unet\..*lora_B\./.test(n));
    const moved = async (k: string) => Math.max(...(await changes('weights/rddm-tiny', out(k), names)));
    expect(await moved('frozen')).toBeGreaterThan(0);
    expect(await moved('base')).toBeGreaterThan(0);
  }, 180_000);

  it('is refused by the other stages', async () => {
    const bad = join(dir, 'bad');
    expect(await runCli(['train-rvae', '--stage', '1', '--train-unet-base', '--run', bad])).toBe(2);
    expect(await runCli(['train', '--mode', 'multistep', '--init', 'weights/rddm-tiny', '--train-unet-base', '--run', bad])).toBe(2);
  });
});
