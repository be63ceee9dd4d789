/**
 * Importing diffusers folders that are not our own unchanged export: a plain pipeline folder (unet/ + vae/ only,
 * architectures no built-in config matches), PEFT adapters trained further in PyTorch (another lora_alpha), and
 * folders that contradict themselves. The round trip of our own export is in test/models/diffusers-parity.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { init } from '../../src/index.js';
import { runCli } from '../../src/cli/cli.js';
import { readAll } from '../../src/models/weights-io.js';
import { serializeSafetensors } from '../../src/io/safetensors.js';
import { exportDiffusersDir, loadRddmDir } from '../../src/node/rddm-weights.js';
import { loraLayers } from '../../src/nn/lora.js';

const FIXTURES = new URL('../models/diffusers/fixtures/', import.meta.url).pathname;
/** The shipped weights' named configs: the export and a one-step run from it must keep them. */
const SHIPPED = (JSON.parse(readFileSync('weights/rddm-tiny/manifest.json', 'utf8')) as { config: { vae: string; unet: string; loraRank: number } }).config;
const dir = mkdtempSync(join(tmpdir(), 'rddm-dimport-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(...argv: string[]): Promise<{ code: number; err: string }> {
  const err: string[] = [];
  const e = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  try {
    return { code: await runCli(argv), err: err.join('\n') };
  } finally {
    e.mockRestore();
  }
}

beforeAll(async () => {
  await init();
});

describe('rddm import of diffusers folders', () => {
  it('a plain pipeline folder: inline configs, latent scale = scaling_factor, E_raw = E_lin, zero context (or --prompt-embeds)', async () => {
    const plain = join(dir, 'plain');
    cpSync(join(FIXTURES, 'unet-a'), join(plain, 'unet'), { recursive: true });
    cpSync(join(FIXTURES, 'vae'), join(plain, 'vae'), { recursive: true });
    writeFileSync(join(plain, 'model_index.json'), '{"_class_name": "StableDiffusionPipeline"}');
    const out = join(dir, 'plain-weights');
    expect(await cli('import', '--from', 'diffusers', plain, out)).toMatchObject({ code: 0 });
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(manifest.config).toMatchObject({ latentScale: 0.5, unet: { kind: 'unet', numAttentionHeads: [2, 3, 4], contextLength: 77 }, vae: { kind: 'vae', blockOutChannels: [16, 24, 32] } });
    expect(manifest.files['unet_lora.safetensors']).toBeUndefined();
    const { sys } = await loadRddmDir(out);
    const enc = (m: typeof sys.vae | typeof sys.raw_encoder) => m.namedParameters().filter(([k]) => k.startsWith('encoder.') || k.startsWith('quant_conv.'));
    const [a, b] = [await readAll(enc(sys.vae).map(([, t]) => t)), await readAll(enc(sys.raw_encoder).map(([, t]) => t))];
    expect(a.every((v, i) => Buffer.from(v.buffer).equals(Buffer.from(b[i].buffer)))).toBe(true);
    expect(sys.context.null_text_embedding.shape).toEqual([1, 77, 12]);
    expect((await sys.context.null_text_embedding.data()).every((v) => v === 0)).toBe(true);
    // --weights reads the folder directly, the same way.
    expect((await loadRddmDir(plain)).sys.config.unet).toEqual(manifest.config.unet);
    // Weights without CMB-LoRA and with inline configs go out and come back the same, byte for byte.
    expect(await cli('export', out, '--to', 'diffusers', join(dir, 'plain-export'))).toMatchObject({ code: 0 });
    expect(existsSync(join(dir, 'plain-export', 'unet_lora'))).toBe(false);
    expect(await cli('import', '--from', 'diffusers', join(dir, 'plain-export'), join(dir, 'plain-back'))).toMatchObject({ code: 0 });
    for (const f of readdirSync(out)) expect(readFileSync(join(dir, 'plain-back', f)).equals(readFileSync(join(out, f))), f).toBe(true);
    // A prompt embedding sets the context (and its length).
    const emb = Float32Array.from({ length: 5 * 12 }, (_, i) => i / 10);
    writeFileSync(join(dir, 'embeds.safetensors'), Buffer.concat(serializeSafetensors({ prompt_embeds: { dtype: 'F32', shape: [1, 5, 12], data: emb } })));
    const out2 = join(dir, 'plain-embeds');
    expect(await cli('import', '--from', 'diffusers', plain, out2, '--prompt-embeds', join(dir, 'embeds.safetensors'))).toMatchObject({ code: 0 });
    const sys2 = (await loadRddmDir(out2)).sys;
    expect([...(await sys2.context.null_text_embedding.data())]).toEqual([...emb]);
    expect((sys2.config.unet as { contextLength: number }).contextLength).toBe(5);
  });

  it('PEFT adapters trained on in PyTorch: another lora_alpha is folded into B; wrong targets or missing patterns fail', async () => {
    const exp = join(dir, 'exp');
    const { sys, manifest } = await loadRddmDir('weights/rddm-tiny');
    await exportDiffusersDir(sys, exp, { stage: manifest.stage });
    const cfgPath = join(exp, 'unet_lora', 'GRBG', 'adapter_config.json');
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, lora_alpha: 2 * cfg.r }));
    const back = (await loadRddmDir(exp)).sys;
    const layer = (s: typeof sys) => loraLayers(s.unet).find(([p]) => p === 'conv_in')![1];
    const [b0, b1] = [await layer(sys).adapter('GRBG').B.weight.data(), await layer(back).adapter('GRBG').B.weight.data()];
    expect([...b1]).toEqual([...b0].map((v) => Math.fround(v * 2)));
    expect([...(await layer(back).adapter('RGGB').B.weight.data())]).toEqual([...(await layer(sys).adapter('RGGB').B.weight.data())]);

    writeFileSync(cfgPath, JSON.stringify({ ...cfg, target_modules: cfg.target_modules.slice(1) }));
    await expect(loadRddmDir(exp)).rejects.toThrow(/unet_lora\/GRBG\/adapter_config\.json: target_modules differ from rddm's CMB-LoRA layers; missing conv_in/);
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, use_dora: true }));
    await expect(loadRddmDir(exp)).rejects.toThrow(/use_dora = true is not supported/);
    writeFileSync(cfgPath, JSON.stringify(cfg));
    rmSync(join(exp, 'raw_encoder_lora', 'BGGR'), { recursive: true });
    await expect(loadRddmDir(exp)).rejects.toThrow(/CMB-LoRA needs an adapter per Bayer pattern .*missing raw_encoder_lora\/BGGR/);
  });

  it("a folder whose config.json contradicts rddm.json, or whose raw_encoder carries another decoder, is refused", async () => {
    const exp = join(dir, 'exp2');
    const { sys } = await loadRddmDir('weights/rddm-tiny');
    await exportDiffusersDir(sys, exp);
    const unetCfg = join(exp, 'unet', 'config.json');
    const good = readFileSync(unetCfg, 'utf8');
    writeFileSync(unetCfg, JSON.stringify({ ...JSON.parse(good), norm_eps: 1e-6 }));
    await expect(loadRddmDir(exp)).rejects.toThrow(`unet/config.json describes another architecture than rddm.json's config.unet (${SHIPPED.unet})`);
    writeFileSync(unetCfg, good);
    // A decoder tensor changed in raw_encoder/ only: RDDM has one D_lin, so this would be silently dropped.
    const raw = readFileSync(join(exp, 'raw_encoder', 'diffusion_pytorch_model.safetensors'));
    const n = Number(raw.readBigUInt64LE(0));
    const header = JSON.parse(raw.subarray(8, 8 + n).toString('utf8'));
    const [begin] = header['decoder.conv_out.bias'].data_offsets as [number, number];
    raw.writeFloatLE(raw.readFloatLE(8 + n + begin) + 1, 8 + n + begin);
    writeFileSync(join(exp, 'raw_encoder', 'diffusion_pytorch_model.safetensors'), raw);
    await expect(loadRddmDir(exp)).rejects.toThrow(/raw_encoder\/diffusion_pytorch_model\.safetensors: 'decoder\.conv_out\.bias' differs from vae\/'s/);
  });

  it('--init takes a diffusers folder: our export (one-step stage) and a plain one with inline configs (stage 1, resumed)', async () => {
    const exp = join(dir, 'exp-train');
    expect(await cli('export', 'weights/rddm-tiny', '--to', 'diffusers', exp)).toMatchObject({ code: 0 });
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const r1 = join(dir, 'run-onestep');
      expect(await runCli(['train', '--mode', 'onestep', '--init', exp, '--steps', '1', '--crop', '16', '--batch', '1', '--run', r1, '--out', join(r1, 'w')])).toBe(0);
      expect(JSON.parse(readFileSync(join(r1, 'w', 'manifest.json'), 'utf8')).config).toMatchObject({ vae: SHIPPED.vae, unet: SHIPPED.unet, loraRank: SHIPPED.loraRank });
      const plain = join(dir, 'plain-train');
      cpSync(join(FIXTURES, 'unet-a'), join(plain, 'unet'), { recursive: true });
      cpSync(join(FIXTURES, 'vae'), join(plain, 'vae'), { recursive: true });
      const r2 = join(dir, 'run-rvae1');
      const args = ['train-rvae', '--stage', '1', '--init', plain, '--crop', '16', '--batch', '1', '--run', r2, '--out', join(r2, 'w')];
      expect(await runCli([...args, '--steps', '1'])).toBe(0);
      expect(await runCli([...args, '--steps', '2', '--resume'])).toBe(0);
      const m = JSON.parse(readFileSync(join(r2, 'w', 'manifest.json'), 'utf8'));
      expect([m.steps, m.config.unet.numAttentionHeads, m.config.vae.blockOutChannels]).toEqual([2, [2, 3, 4], [16, 24, 32]]);
    } finally {
      quiet.mockRestore();
    }
  }, 180_000);
});
