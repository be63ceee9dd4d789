/**
 * Our models against diffusers' on the same weights. The fixtures (test/models/diffusers/fixtures, written by
 * test/models/diffusers/gen: see its README) hold tiny UNet2DConditionModels and an AutoencoderKL saved by diffusers
 * with every weight random, inputs at odd sizes and batch 2, and diffusers' outputs computed in float64; and
 * diffusers' + PEFT's outputs on the export of the shipped weights with the sha256 of every exported file.
 *
 * Metric: relative error = max|ours − diffusers| / max|diffusers| over the whole output tensor, ours in float32,
 * diffusers' in float64. Bound: 1e-5 (float32 round-off through a few dozen layers).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { init, tensor, tidy, type Tensor } from '../../src/index.js';
import { openSafetensors, type SafetensorsFile } from '../../src/io/safetensors.js';
import { openFileSource, type FileSource } from '../../src/node/file-source.js';
import { exportDiffusersDir, folderReader, loadRddmDir, saveRddmDir } from '../../src/node/rddm-weights.js';
import { loadDiffusersModel } from '../../src/rddm/diffusers-import.js';
import { AutoencoderKL, UNet2DConditionModel } from '../../src/models/index.js';
import { unetConfigFromDiffusers, unetConfigToDiffusers, vaeConfigFromDiffusers, vaeConfigToDiffusers } from '../../src/models/diffusers-config.js';
import type { BayerPattern } from '../../src/raw/bayer-pattern.js';

const FIXTURES = new URL('./diffusers/fixtures/', import.meta.url).pathname;
const WEIGHTS = new URL('../../weights/rddm-tiny/', import.meta.url).pathname;
const BOUND = 1e-5;
const PATTERNS: BayerPattern[] = ['RGGB', 'BGGR', 'GRBG', 'GBRG'];
const generated = JSON.parse(readFileSync(join(FIXTURES, 'generated.json'), 'utf8')) as { export_sha256: Record<string, string>; weights_sha256: Record<string, string> };

let src: FileSource;
let cases: SafetensorsFile;
const table: string[] = [];
const tmp: string[] = [];

beforeAll(async () => {
  await init();
  src = await openFileSource(join(FIXTURES, 'cases.safetensors'));
  cases = await openSafetensors(src);
});
afterAll(async () => {
  await src?.close();
  for (const d of tmp) rmSync(d, { recursive: true, force: true });
  // The parity table (also quoted in test/models/diffusers/gen/README.md).
  if (table.length) console.log(`diffusers parity, max|ours − diffusers| / max|diffusers|:\n  ${table.join('\n  ')}`);
});

async function f64(name: string): Promise<Float64Array> {
  const b = await cases.getBytes(name);
  return new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}
async function input(name: string): Promise<Tensor> {
  return tensor(Float32Array.from(await f64(name)), cases.info(name).shape);
}

/** max|ours − ref| / max|ref|, after checking the shapes agree. */
async function relErr(ours: Tensor, ref: string, label: string): Promise<number> {
  expect([...ours.shape], `${label} shape`).toEqual(cases.info(ref).shape);
  const [a, b] = [await ours.data(), await f64(ref)];
  let d = 0, m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  const e = d / m;
  table.push(`${label.padEnd(34)} ${e.toExponential(2)}`);
  return e;
}

describe('diffusers parity: tiny models saved by diffusers', () => {
  const unetCases: [string, string[]][] = [['unet-a', ['b2', 'b1', 'frac']], ['unet-b', ['b2', 'b1']]];
  for (const [name, tags] of unetCases) {
    it(`${name}: config.json maps both ways, and every output is within ${BOUND} of diffusers'`, async () => {
      const json = JSON.parse(readFileSync(join(FIXTURES, name, 'config.json'), 'utf8'));
      // Our export writes the same fields with the same values (upcast_attention and sample_size are ours to choose;
      // one head count for every block is written as the list diffusers expands it to).
      const back = unetConfigToDiffusers(unetConfigFromDiffusers(json), json.sample_size);
      const heads = Array.isArray(json.attention_head_dim) ? json.attention_head_dim : json.block_out_channels.map(() => json.attention_head_dim);
      expect({ ...back, upcast_attention: null }).toEqual({ ...json, attention_head_dim: heads, upcast_attention: null });
      const unet = (await loadDiffusersModel(folderReader(FIXTURES), name)) as UNet2DConditionModel;
      expect(unet).toBeInstanceOf(UNet2DConditionModel);
      for (const tag of tags) {
        const k = `${name}.${tag}`;
        const [x, c, t] = [await input(`${k}.sample`), await input(`${k}.context`), await input(`${k}.timesteps`)];
        const y = tidy(() => unet.forward(x, t.shape[0] === x.shape[0] ? t : t.reshape([]), c));
        expect(await relErr(y, `${k}.out`, `${k} [${x.shape}] t=${await t.data()}`)).toBeLessThan(BOUND);
        for (const z of [x, c, t, y]) z.dispose();
      }
    });
  }

  it(`vae: config maps both ways; posterior mean and log-variance, decode and forward within ${BOUND}`, async () => {
    const json = JSON.parse(readFileSync(join(FIXTURES, 'vae', 'config.json'), 'utf8'));
    expect(vaeConfigToDiffusers(vaeConfigFromDiffusers(json), json.scaling_factor, json.sample_size)).toEqual(json);
    const vae = (await loadDiffusersModel(folderReader(FIXTURES), 'vae')) as AutoencoderKL;
    for (const tag of ['b2', 'b1']) {
      const k = `vae.${tag}`;
      const x = await input(`${k}.image`);
      const post = vae.encode(x);
      expect(await relErr(post.mean, `${k}.mean`, `${k} encode mean [${x.shape}]`)).toBeLessThan(BOUND);
      expect(await relErr(post.logvar, `${k}.logvar`, `${k} encode logvar`)).toBeLessThan(BOUND);
      const z = await input(`${k}.latent`);
      const d = vae.decode(z);
      expect(await relErr(d, `${k}.decoded`, `${k} decode [${z.shape}]`)).toBeLessThan(BOUND);
      const f = vae.forward(x);
      expect(await relErr(f, `${k}.forward`, `${k} forward`)).toBeLessThan(BOUND);
      post.dispose();
      for (const t of [x, z, d, f]) t.dispose();
    }
  });
});

/** Every file under `dir` by relative path → sha256. */
function hashes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

describe('diffusers parity: the export of the shipped weights', () => {
  let out: string;

  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'rddm-export-'));
    tmp.push(out);
  });

  it('the fixture was made from the shipped weights as they are now', () => {
    const manifest = JSON.parse(readFileSync(join(WEIGHTS, 'manifest.json'), 'utf8')) as { files: Record<string, { sha256: string }> };
    const now = Object.fromEntries(Object.entries(manifest.files).map(([k, v]) => [k, v.sha256]));
    expect(now, 'weights/rddm-tiny changed since test/models/diffusers/fixtures was generated: regenerate it (test/models/diffusers/gen/README.md)').toEqual(generated.weights_sha256);
  });

  it('rddm export writes byte for byte the folder diffusers and PEFT loaded strictly', async () => {
    const { sys, manifest } = await loadRddmDir(WEIGHTS);
    const { format: _f, config: _c, files: _files, ...extras } = manifest;
    await exportDiffusersDir(sys, join(out, 'export'), extras);
    // README.md is prose for people (diffusers reads none of it): its wording may change without regenerating.
    const skipReadme = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).filter(([k]) => k !== 'README.md'));
    expect(skipReadme(hashes(join(out, 'export')))).toEqual(skipReadme(generated.export_sha256));
  });

  it('the PEFT adapters hold the same values as our LoRA files, for all four patterns', async () => {
    for (const [ours, dir] of [['unet_lora.safetensors', 'unet_lora'], ['raw_encoder_lora.safetensors', 'raw_encoder_lora']]) {
      const s = await openFileSource(join(WEIGHTS, ours));
      const mine = await openSafetensors(s);
      let n = 0;
      for (const p of PATTERNS) {
        const t = await openFileSource(join(out, 'export', dir, p, 'adapter_model.safetensors'));
        const peft = await openSafetensors(t);
        const cfg = JSON.parse(readFileSync(join(out, 'export', dir, p, 'adapter_config.json'), 'utf8'));
        expect(cfg).toMatchObject({ peft_type: 'LORA', r: 16, lora_alpha: 16, use_rslora: false, use_dora: false, bias: 'none' });
        expect(peft.keys().length).toBe(2 * cfg.target_modules.length);
        for (const key of peft.keys()) {
          const m = /^base_model\.model\.(.+)\.lora_([AB])\.weight$/.exec(key)!;
          expect(m, key).not.toBeNull();
          expect(cfg.target_modules).toContain(m[1]);
          const theirs = `${m[1]}.lora_${m[2]}.${p}.weight`;
          expect(Buffer.from(await peft.getBytes(key)).equals(Buffer.from(await mine.getBytes(theirs))), theirs).toBe(true);
          n++;
        }
        await t.close();
      }
      expect(n).toBe(mine.keys().length);
      await s.close();
    }
  });

  it(`our models on the exported folder give diffusers' + PEFT's outputs within ${BOUND}, per Bayer pattern`, async () => {
    const { sys } = await loadRddmDir(join(out, 'export'));
    const s = sys.config.latentScale;
    const T = sys.config.timestep;
    const ab = (await f64('shipped.alpha_bar'))[0];
    expect(Math.abs(sys.schedule.alphaBar(T) - ab)).toBeLessThan(1e-15);
    const x = await input('shipped.linear');
    const mean = tidy(() => sys.vae.encodeMoments(x).slice(1, 0, sys.vae.config.latentChannels));
    expect(await relErr(mean, 'shipped.vae.mean', `shipped E_lin mean [${x.shape}]`)).toBeLessThan(BOUND);
    const z = await input('shipped.vae.latent');
    const dec = sys.vae.decode(z);
    expect(await relErr(dec, 'shipped.vae.decoded', `shipped D_lin [${z.shape}]`)).toBeLessThan(BOUND);
    sys.unet.setBayerPattern(null);
    const base = tidy(() => sys.predictNoise(z, T));
    expect(await relErr(base, 'shipped.unet.base', `shipped UNet base, t=${T}`)).toBeLessThan(BOUND);
    for (const p of PATTERNS) {
      sys.setPattern(p);
      const u = await input(`shipped.${p}.input`);
      const zL = tidy(() => sys.raw_encoder.forwardSparse(u, p).mul(s));
      const eps = tidy(() => sys.predictNoise(zL, T));
      const zH = sys.oneStepLatent(zL);
      const img = tidy(() => sys.vae.decode(zH.mul(1 / s)));
      expect(await relErr(zL, `shipped.${p}.z_l`, `shipped ${p} s·E_raw`)).toBeLessThan(BOUND);
      expect(await relErr(eps, `shipped.${p}.eps`, `shipped ${p} UNet+LoRA ε`)).toBeLessThan(BOUND);
      expect(await relErr(zH, `shipped.${p}.z_h`, `shipped ${p} ẑ_H`)).toBeLessThan(BOUND);
      expect(await relErr(img, `shipped.${p}.image`, `shipped ${p} D_lin(ẑ_H/s)`)).toBeLessThan(BOUND);
      for (const t of [u, zL, eps, zH, img]) t.dispose();
    }
    for (const t of [x, mean, z, dec, base]) t.dispose();
  });

  it('rddm import of the exported folder gives back the shipped weights bit for bit', async () => {
    const { sys, manifest } = await loadRddmDir(join(out, 'export'));
    const { format: _f, config: _c, files: _files, ...extras } = manifest;
    await saveRddmDir(sys, join(out, 'imported'), extras);
    const back = hashes(join(out, 'imported'));
    const shipped = hashes(WEIGHTS);
    for (const [name, h] of Object.entries(back)) expect(h, name).toBe(shipped[name]);
    expect(Object.keys(back).sort()).toEqual(['context.safetensors', 'manifest.json', 'raw_encoder.safetensors', 'raw_encoder_lora.safetensors', 'unet.safetensors', 'unet_lora.safetensors', 'vae.safetensors']);
  });
});
