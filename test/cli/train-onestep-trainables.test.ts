// `rddm train --mode onestep --train-unet-base` / `--train-decoder`: the UNet's base weights, or the RVAE's decoder,
// train with the CMB-LoRA; without the flag they stay frozen, as OSEDiff keeps them. The encoder (the latent targets)
// stays frozen either way. Other stages refuse the flags.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { init } from '../../src/index.js';
import { loadRddmDir } from '../../src/node/rddm-weights.js';
import { need } from '../helpers/requirements.js';

const dir = mkdtempSync(join(tmpdir(), 'rddm-train-onestep-trainables-'));
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

describe('rddm train --train-unet-base / --train-decoder', () => {
  it('moves the base UNet weights, or the decoder, only when given', async () => {
    need('data/photos/train');
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
    const out = (k: string) => join(dir, k, 'w');
    try {
      const flag: Record<string, string[]> = { frozen: [], base: ['--train-unet-base'], decoder: ['--train-decoder'] };
      for (const k of Object.keys(flag)) {
        const args = ['train', '--init', 'weights/rddm-tiny', '--steps', '1', '--crop', '32', '--batch', '1', '--seed', '5', '--lr', '1e-3', '--run', join(dir, k), '--out', out(k)];
        expect(await runCli([...args, ...flag[k]!])).toBe(0);
      }
    } finally {
      quiet.mockRestore();
    }
    // Base tensors deep in the UNet (not conv_in, which trains either way).
    const base = ['unet.down_blocks.0.resnets.0.conv1.weight', 'unet.mid_block.resnets.0.conv2.weight', 'unet.conv_out.weight'];
    // The decoder from its first conv to its last, and the encoder that makes the latent targets.
    const decoder = ['vae.post_quant_conv.weight', 'vae.decoder.conv_in.weight', 'vae.decoder.conv_out.weight'];
    const encoder = ['vae.encoder.conv_in.weight', 'vae.encoder.conv_out.weight', 'vae.quant_conv.weight'];
    const of = (k: string, names: string[]) => changes('weights/rddm-tiny', out(k), names);
    expect(await of('frozen', [...base, ...decoder, ...encoder])).toEqual(Array(9).fill(0));
    for (const c of await of('base', base)) expect(c).toBeGreaterThan(0);
    expect(await of('base', [...decoder, ...encoder])).toEqual(Array(6).fill(0));
    for (const c of await of('decoder', decoder)) expect(c).toBeGreaterThan(0);
    expect(await of('decoder', [...base, ...encoder])).toEqual(Array(6).fill(0));
    // Both runs step the adapters of the batch's pattern (the seed fixes it); some adapter moved in each.
    const names = [...new Map((await loadRddmDir(out('frozen'))).sys.namedParameters()).keys()].filter((n) => /unet\..*lora_B\./.test(n));
    const moved = async (k: string) => Math.max(...(await changes('weights/rddm-tiny', out(k), names)));
    expect(await moved('frozen')).toBeGreaterThan(0);
    expect(await moved('base')).toBeGreaterThan(0);
    expect(await moved('decoder')).toBeGreaterThan(0);
  }, 240_000);

  it('is refused by the other stages', async () => {
    const bad = join(dir, 'bad');
    expect(await runCli(['train-rvae', '--stage', '1', '--train-unet-base', '--run', bad])).toBe(2);
    expect(await runCli(['train', '--mode', 'multistep', '--init', 'weights/rddm-tiny', '--train-unet-base', '--run', bad])).toBe(2);
    expect(await runCli(['train-rvae', '--stage', '2', '--init', 'weights/rddm-tiny', '--train-decoder', '--run', bad])).toBe(2);
    expect(await runCli(['train', '--mode', 'multistep', '--init', 'weights/rddm-tiny', '--train-decoder', '--run', bad])).toBe(2);
  });
});
