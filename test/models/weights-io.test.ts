/** safetensors weights with diffusers names: bit-exact round trip, strict reports, legacy names, bad files, LoRA files. */
import { beforeAll, describe, expect, it } from 'vitest';
import { init, manualSeed, randn } from '../../src/index.js';
import { readAll } from '../../src/models/weights-io.js';
import { AutoencoderKL, MODEL_CONFIGS, UNet2DConditionModel, applyCmbLora, loadLora, loadWeights, saveLora, saveWeights, NullTextContext, loadPromptEmbedding } from '../../src/models/index.js';
import { concatBytes, memorySource, openSafetensors, serializeSafetensors, type TensorToWrite } from '../../src/io/safetensors.js';
import { roundTripF16 } from '../../src/io/half.js';
import { isLoRALayer, loraLayers } from '../../src/nn/lora.js';
import type { Module } from '../../src/nn/index.js';

beforeAll(async () => {
  await init();
  manualSeed(9);
});

const vaeCfg = MODEL_CONFIGS['tiny-vae'];
const open = (chunks: Uint8Array[], name = 'test.safetensors') => openSafetensors(memorySource(concatBytes(chunks), name));

async function values(m: Module): Promise<Map<string, Float32Array>> {
  const ps = m.namedParameters();
  const data = await readAll(ps.map(([, t]) => t));
  return new Map(ps.map(([k], i) => [k, data[i]]));
}

/** Bit-exact comparison of two parameter maps (vitest's deep equality is slow on large typed arrays). */
function expectSameBits(got: Map<string, Float32Array>, want: Map<string, Float32Array>): void {
  expect([...got.keys()]).toEqual([...want.keys()]);
  for (const [k, v] of want) expect(Buffer.from(got.get(k)!.buffer).equals(Buffer.from(v.buffer)), k).toBe(true);
}

describe('weights I/O', () => {
  it('save → load round trip is bit-exact (F32), and F16 files load as their rounded values', async () => {
    const a = new AutoencoderKL(vaeCfg);
    const b = new AutoencoderKL(vaeCfg);
    const file = await open(await saveWeights(a));
    expect(file.keys().length).toBe(a.parameters().length);
    const report = await loadWeights(b, file);
    expect(report).toEqual({ missing: [], unexpected: [], mismatched: [] });
    const va = await values(a);
    expectSameBits(await values(b), va);
    const half = await open(await saveWeights(a, { dtype: 'F16' }));
    await loadWeights(b, half);
    expectSameBits(await values(b), new Map([...va].map(([k, v]) => [k, roundTripF16(v)])));
  });

  it('strict loading lists missing, unexpected and shape-mismatched keys, and changes nothing', async () => {
    const vae = new AutoencoderKL(vaeCfg);
    const before = await values(vae);
    const unetFile = await open(await saveWeights(new UNet2DConditionModel(MODEL_CONFIGS['tiny-unet'])), 'unet.safetensors');
    await expect(loadWeights(vae, unetFile)).rejects.toThrow(/unet\.safetensors: .*different architecture.*missing keys: encoder\.conv_in\.weight.*unexpected keys: conv_in\.bias, conv_in\.weight/);
    const other = await open(await saveWeights(new AutoencoderKL({ ...vaeCfg, latentChannels: 4 })));
    await expect(loadWeights(vae, other)).rejects.toThrow(/shape mismatches: .*encoder\.conv_out\.weight expected \[16,64,3,3\] got \[8,64,3,3\]/);
    expectSameBits(await values(vae), before);
    const report = await loadWeights(vae, other, { strict: false });
    expect(report.mismatched.map((m) => m.key)).toContain('quant_conv.weight');
    expect(report.missing).toEqual([]);
  });

  it('loads VAE files with the pre-0.14 attention names (query/key/value/proj_attn) and 1x1-conv projections', async () => {
    const a = new AutoencoderKL(vaeCfg);
    const tensors: Record<string, TensorToWrite> = {};
    for (const [k, t] of a.namedParameters()) {
      const legacy = k.replace(/\.to_q\./, '.query.').replace(/\.to_k\./, '.key.').replace(/\.to_v\./, '.value.').replace(/\.to_out\.0\./, '.proj_attn.');
      const conv = legacy !== k && t.ndim === 2 && k.startsWith('decoder.');
      tensors[legacy] = { dtype: 'F32', shape: conv ? [...t.shape, 1, 1] : t.shape, data: await t.data() };
    }
    expect(Object.keys(tensors)).toContain('encoder.mid_block.attentions.0.query.weight');
    const b = new AutoencoderKL(vaeCfg);
    await loadWeights(b, await open(serializeSafetensors(tensors)));
    expectSameBits(await values(b), await values(a));
  });

  it('bad files: truncated, lying offsets, unknown or integer dtypes give clear errors', async () => {
    const vae = new AutoencoderKL(vaeCfg);
    const bytes = concatBytes(await saveWeights(vae));
    await expect(openSafetensors(memorySource(bytes.slice(0, bytes.length - 100), 'cut.safetensors'))).rejects.toThrow(/cut\.safetensors/);
    const headerLen = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.slice(8, 8 + headerLen)));
    const data = bytes.slice(8 + headerLen);
    /** The same file with an edited header (re-framed with its new length). */
    const lie = (mutate: (h: Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>) => void) => {
      const h = structuredClone(header);
      mutate(h);
      const text = new TextEncoder().encode(JSON.stringify(h));
      const prefix = new Uint8Array(8);
      new DataView(prefix.buffer).setBigUint64(0, BigInt(text.length), true);
      return openSafetensors(memorySource(concatBytes([prefix, text, data]), 'lie.safetensors'));
    };
    await expect(lie((h) => (h['encoder.conv_in.weight'].data_offsets[1] += 4))).rejects.toThrow(/lie\.safetensors/);
    await expect(lie((h) => (h['encoder.conv_in.weight'].shape = [1_000_000, 1_000_000]))).rejects.toThrow(/lie\.safetensors/);
    await expect(lie((h) => (h['encoder.conv_in.weight'].dtype = 'Q4'))).rejects.toThrow(/unknown dtype/);
    const ints = await lie((h) => {
      const e = h['encoder.conv_in.bias'];
      e.dtype = 'I32';
    });
    await expect(loadWeights(vae, ints)).rejects.toThrow(/encoder\.conv_in\.bias' has dtype I32/);
  });

  it('LoRA adapters save in PEFT naming and load back, wrapping an unwrapped model', async () => {
    const a = new AutoencoderKL(vaeCfg);
    applyCmbLora(a, { rank: 2, alpha: 4 });
    const file = await open(await saveLora(a));
    expect(file.keys()).toContain('encoder.conv_in.lora_A.GRBG.weight');
    expect(file.keys()).toContain('encoder.conv_in.lora_B.RGGB.weight');
    expect(file.keys().some((k) => !k.includes('.lora_'))).toBe(false);
    expect(JSON.parse(file.metadata.lora_adapters).GBRG).toEqual({ r: 2, lora_alpha: 4 });
    const b = new AutoencoderKL(vaeCfg);
    await loadWeights(b, await open(await saveWeights(a)));
    await loadLora(b, file);
    const la = new Map(loraLayers(a));
    const lb = new Map(loraLayers(b));
    expect([...lb.keys()]).toEqual([...la.keys()]);
    for (const [path, layer] of la) {
      const other = lb.get(path)!;
      expect(isLoRALayer(other)).toBe(true);
      for (const p of layer.adapterNames) {
        expect(other.scale(p)).toBe(2);
        expect(await other.adapter(p).A.weight.data()).toEqual(await layer.adapter(p).A.weight.data());
      }
    }
    // diffusers-style single-adapter file: no adapter name, a 'unet.'/'vae.' style prefix.
    const single = await open(await saveLora(a, { adapters: ['GRBG'], stripAdapterName: true, prefix: 'vae.' }));
    expect(single.keys()).toContain('vae.encoder.conv_in.lora_A.weight');
    const c = new AutoencoderKL(vaeCfg);
    await loadLora(c, single, { adapter: 'GRBG' });
    expect(loraLayers(c)[0][1].adapterNames).toEqual(['GRBG']);
    // A LoRA for another architecture is refused before anything changes.
    const unet = new UNet2DConditionModel(MODEL_CONFIGS['tiny-unet']);
    await expect(loadLora(unet, file)).rejects.toThrow(/LoRA file does not match the model: unexpected keys: encoder\./);
    expect(loraLayers(unet)).toHaveLength(0);
  });

  it('null-text context and prompt embeddings', async () => {
    const cfg = MODEL_CONFIGS['tiny-unet'];
    const n = new NullTextContext(cfg);
    expect(n.namedParameters().map(([k, t]) => [k, t.shape])).toEqual([['null_text_embedding', [1, cfg.contextLength, cfg.crossAttentionDim]]]);
    const emb = randn([cfg.contextLength, cfg.crossAttentionDim]);
    const file = await open(serializeSafetensors({ prompt_embeds: { dtype: 'F32', shape: emb.shape, data: await emb.data() } }));
    const t = await loadPromptEmbedding(file, cfg);
    expect(t.shape).toEqual([1, cfg.contextLength, cfg.crossAttentionDim]);
    await expect(loadPromptEmbedding(file, { crossAttentionDim: 1024 })).rejects.toThrow(/expected \[tokens, 1024\]/);
    t.dispose();
    emb.dispose();
  });
});
