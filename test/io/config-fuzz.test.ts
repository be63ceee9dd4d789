// Bounded fuzzing of every loader of JSON that configures or resumes a run: the weights manifest (its RDDM
// config), a training checkpoint (run state in the safetensors metadata, optimizer slots), datasets/photos.json,
// and the model configs. Inputs are structure-aware JSON mutations of real files plus byte mutations. Every case
// must load into valid values or throw ConfigError (or SafetensorsError for the checkpoint container) naming the
// file; an accepted model config must build (as meta tensors, no GPU) within the time bound.
// FUZZ_CASES=N runs N cases per input.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigCheck, ConfigError } from '../../src/io/config-check.js';
import { concatBytes, memorySource, openSafetensors, SafetensorsError, serializeSafetensors } from '../../src/io/safetensors.js';
import { MODEL_CONFIGS, MODEL_CONFIG_NAMES, resolveModelConfig, validateUNetConfig, validateVaeConfig, type ModelConfig } from '../../src/models/configs.js';
import { unetConfigFromDiffusers, vaeConfigFromDiffusers } from '../../src/models/diffusers-config.js';
import { buildModel } from '../../src/models/model-summary.js';
import { parseRddmManifest, type RddmManifest } from '../../src/rddm/manifest.js';
import { parsePhotoList, type PhotoList } from '../../src/eval/photos.js';
import { readCheckpoint, type LoadedCheckpoint } from '../../src/train/checkpoint.js';
import { withMetaTensors } from '../../src/tensor/tensor.js';
import { fuzzCount, jsonMutants, mutants, runFuzz, type FuzzTarget } from '../helpers/fuzz.js';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const json = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));
const configErrorNamesFile = (source: string) => (e: Error) => expect(e.message.startsWith(`${source}`)).toBe(true);

describe('config loader fuzzing', () => {
  it('weights manifest: JSON and byte mutations of the shipped manifest', async () => {
    const real = readFileSync('weights/rddm-tiny/manifest.json');
    // With compandEps, as weights trained since it exists carry it.
    const doc = JSON.parse(real.toString('utf8')) as RddmManifest;
    doc.config.compandEps ??= 1e-3;
    const target: FuzzTarget<RddmManifest> = {
      name: 'parseRddmManifest',
      parse: (bytes) => parseRddmManifest(text(bytes), 'manifest.json'),
      errors: [ConfigError],
      check: (m) => {
        // A name of a built-in config, or an inline config (imported diffusers architectures) that validates.
        expect(resolveModelConfig(m.config.vae, 'vae').kind).toBe('vae');
        expect(resolveModelConfig(m.config.unet, 'unet').kind).toBe('unet');
        expect(m.config.latentScale > 0 && Number.isInteger(m.config.timestep) && m.config.loraRank >= 1 && m.config.loraRank <= 256).toBe(true);
        expect(m.config.compandEps === undefined || (m.config.compandEps >= 0 && m.config.compandEps <= 1)).toBe(true);
        for (const f of Object.values(m.files)) expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
      },
      checkError: configErrorNamesFile('manifest.json: '),
      allocationBound: (n) => 64 * n + (1 << 20),
    };
    const n = fuzzCount(400);
    const s = await runFuzz(target, [{ bytes: real, label: 'unmutated' }, { bytes: json(doc), label: 'with compandEps' }, ...jsonMutants(doc, n, 200, [doc.config, doc.files]), ...mutants(real, n / 4, 201)]);
    expect(s.ok).toBeGreaterThan(0);
  });

  it('checkpoint: mutations of the run state JSON, the optimizer slot names and the file bytes', async () => {
    const history = [1, 2, 3].map((step) => ({ step, loss: 1 / step, lr: 1e-3, l1: 0.5 }));
    const state = { step: 3, rng: { seed: 3, stream: 7 }, config: { stage: 'rvae1', batch: 4 }, history, seed: 3, optimizer: { step: 3, params: 1 } };
    const file = (st: string, slotName = 'optimizer.0.slot0'): Uint8Array =>
      concatBytes(
        serializeSafetensors(
          { 'w.weight': { dtype: 'F32', shape: [2, 3], data: new Float32Array(6).fill(0.5) }, [slotName]: { dtype: 'F32', shape: [6], data: new Float32Array(6) } },
          { 'rddm.format': 'rddm-checkpoint-1', 'rddm.run_state': st },
        ),
      );
    const target: FuzzTarget<LoadedCheckpoint> = {
      name: 'readCheckpoint',
      parse: async (bytes) => readCheckpoint(await openSafetensors(memorySource(bytes, 'checkpoint.safetensors'))),
      errors: [ConfigError, SafetensorsError],
      check: (ck) => {
        expect(Number.isInteger(ck.state.step) && ck.state.step >= 0).toBe(true);
        expect(Number.isFinite(ck.state.rng.seed) && Number.isInteger(ck.state.rng.stream)).toBe(true);
        for (const h of ck.state.history ?? []) expect(Number.isFinite(h.loss) && h.step <= ck.state.step).toBe(true);
      },
      checkError: configErrorNamesFile('checkpoint.safetensors'),
      allocationBound: (n) => 64 * n + (1 << 20),
    };
    const n = fuzzCount(300);
    const stateMutants = jsonMutants(state, n, 210, [state.rng, history[0]]).map((m) => ({ ...m, bytes: file(text(m.bytes)) }));
    const slotNames = ['optimizer.99999999.slot0', 'optimizer.4294967296.m', 'optimizer.-1.slot0', 'optimizer.0.', 'optimizer.00.slot0', 'optimizer.0.__proto__', 'optimizer.0.constructor'];
    const s = await runFuzz(target, [
      { bytes: file(JSON.stringify(state)), label: 'unmutated' },
      ...stateMutants,
      ...slotNames.map((name) => ({ bytes: file(JSON.stringify(state), name), label: `slot tensor '${name}'` })),
      { bytes: file('{"step": 1, '), label: 'run state cut short' },
      ...mutants(file(JSON.stringify(state)), n / 3, 211),
    ]);
    expect(s.ok).toBeGreaterThan(0);
  });

  it('photo list: JSON mutations of datasets/photos.json', async () => {
    const real = readFileSync('datasets/photos.json');
    const target: FuzzTarget<PhotoList> = {
      name: 'parsePhotoList',
      parse: (bytes) => parsePhotoList(new ConfigCheck('photos.json').parseJson(text(bytes)), 'photos.json'),
      errors: [ConfigError],
      check: (l) => {
        for (const e of [...l.train, ...l.validation, ...l.test]) expect([typeof e.file, typeof e.package, typeof e.path, typeof e.license]).toEqual(['string', 'string', 'string', 'string']);
        for (const e of [...l.train, ...l.validation, ...l.test]) expect(e.file).not.toMatch(/[\\/]|^\.|^$/);
        for (const e of [...l.train, ...l.validation, ...l.test]) expect(e.path.split('/')).not.toContain('..');
      },
      checkError: configErrorNamesFile('photos.json: '),
      allocationBound: (n) => 64 * n + (1 << 20),
    };
    const s = await runFuzz(target, [{ bytes: real, label: 'unmutated' }, ...jsonMutants(JSON.parse(real.toString('utf8')), fuzzCount(300), 220, ['../x.png', '.hidden', 'a/b.png', 'usr/../../etc/passwd', '/usr/x.png'])]);
    expect(s.ok).toBeGreaterThan(0);
  });

  it('model configs: mutations of every built-in config; accepted ones build as meta tensors', async () => {
    let built = 0;
    const target: FuzzTarget<ModelConfig> = {
      name: 'model config',
      parse: (bytes) => {
        const c = new ConfigCheck('config.json').parseJson(text(bytes)) as ModelConfig;
        if (c && typeof c === 'object' && (c as { kind?: unknown }).kind === 'vae') validateVaeConfig(c as never, 'config.json');
        else validateUNetConfig(c as never, 'config.json');
        // A config that passes validation must construct (shape-only: no GPU memory, bounded time).
        withMetaTensors(() => buildModel(c));
        built++;
        return c;
      },
      errors: [ConfigError],
      checkError: configErrorNamesFile('config.json: '),
      allocationBound: (n) => 64 * n + (1 << 24),
      caseLimitMs: 4000,
    };
    const small = MODEL_CONFIG_NAMES.filter((name) => !name.startsWith('sd21'));
    const n = Math.ceil(fuzzCount(400) / small.length);
    const inputs = small.flatMap((name, k) => [
      { bytes: json(MODEL_CONFIGS[name]), label: `${name} unmutated` },
      ...jsonMutants(MODEL_CONFIGS[name], n, 230 + k, [8, 16, 32, 64, 3, 4, 'CrossAttnDownBlock2D', 'UpBlock2D']).map((m) => ({ ...m, label: `${name} ${m.label}` })),
    ]);
    const s = await runFuzz(target, inputs);
    expect(built).toBe(s.ok);
    expect(s.ok).toBeGreaterThan(small.length);
  });

  it("diffusers config.json: mutations of SD 2.1's published configs and the parity fixtures'; accepted ones build", async () => {
    let built = 0;
    const target: FuzzTarget<ModelConfig> = {
      name: 'diffusers config.json',
      parse: (bytes) => {
        const o = new ConfigCheck('unet/config.json').parseJson(text(bytes)) as { _class_name?: unknown };
        const c = o && typeof o === 'object' && o._class_name === 'AutoencoderKL' ? vaeConfigFromDiffusers(o, 'unet/config.json') : unetConfigFromDiffusers(o, 'unet/config.json');
        withMetaTensors(() => buildModel(c));
        built++;
        return c;
      },
      errors: [ConfigError],
      checkError: configErrorNamesFile('unet/config.json: '),
      allocationBound: (n) => 64 * n + (1 << 24),
      caseLimitMs: 4000,
    };
    const docs = ['test/models/diffusers/fixtures/unet-a/config.json', 'test/models/diffusers/fixtures/unet-b/config.json', 'test/models/diffusers/fixtures/vae/config.json', 'test/models/diffusers/sd21/vae-config.json'];
    const n = Math.ceil(fuzzCount(400) / docs.length);
    const inputs = docs.flatMap((path, k) => {
      const doc = JSON.parse(readFileSync(path, 'utf8'));
      return [{ bytes: json(doc), label: `${path} unmutated` }, ...jsonMutants(doc, n, 260 + k, [8, 16, 32, 64, 3, 4, null, true, 'DownBlock2D', 'UpBlock2D']).map((m) => ({ ...m, label: `${path} ${m.label}` }))];
    });
    const s = await runFuzz(target, inputs);
    expect(built).toBe(s.ok);
    expect(s.ok).toBeGreaterThan(docs.length);
  });
});
