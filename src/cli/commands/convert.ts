import { existsSync, readdirSync, statSync } from 'node:fs';
import { inputFile, inputWeights, parseArgs, UsageError, type Command } from '../command.js';
import { init } from '../../index.js';
import { exportDiffusersDir, loadRddmDir, saveRddmDir } from '../../node/rddm-weights.js';
import { openFileSource } from '../../node/file-source.js';
import { openSafetensors } from '../../io/safetensors.js';
import { configLabel } from '../../models/configs.js';

/** An output folder must be new or empty: files left by another export or run would mix with these. */
function freshDir(path: string, what: string): void {
  if (!existsSync(path)) return;
  if (!statSync(path).isDirectory()) throw new Error(`${path}: exists and is not a folder (${what})`);
  if (readdirSync(path).length) throw new Error(`${path}: exists and is not empty; ${what} goes to a new or empty folder`);
}

/** The manifest's other fields (stage, steps, seed) travel with the weights through rddm.json. */
function extrasOf(manifest: Record<string, unknown>): Record<string, unknown> {
  const { format: _f, config: _c, files: _files, ...extras } = manifest;
  return extras;
}

export const exportCommand: Command = {
  name: 'export',
  summary: 'write RDDM weights as diffusers + PEFT folders that PyTorch opens (for multi-GPU training elsewhere)',
  usage: `usage: rddm export WEIGHTS_DIR --to diffusers OUT_DIR

  Writes OUT_DIR/unet, vae, raw_encoder (diffusers config.json + diffusion_pytorch_model.safetensors),
  unet_lora/<PATTERN> and raw_encoder_lora/<PATTERN> (PEFT adapter_config.json + adapter_model.safetensors) for
  RGGB, BGGR, GRBG, GBRG, null_text_embedding.safetensors, scheduler/, rddm.json and a README.md with the PyTorch
  loading code. WEIGHTS_DIR may itself be a diffusers folder. OUT_DIR must be new or empty.`,
  async run(args) {
    const { flags, positionals } = parseArgs(args, { string: ['to'] });
    if (flags.to !== 'diffusers') throw new UsageError(flags.to === undefined ? '--to diffusers is required (the only export format)' : `--to must be diffusers, got '${flags.to}'`);
    if (positionals.length !== 2) throw new UsageError(`expected WEIGHTS_DIR and OUT_DIR, got ${positionals.length} argument${positionals.length === 1 ? '' : 's'}`);
    const [weights, out] = positionals as [string, string];
    inputWeights(weights, `weights manifest (${weights} holds none)`);
    freshDir(out, 'the export');
    await init();
    const { sys, manifest } = await loadRddmDir(weights);
    const files = await exportDiffusersDir(sys, out, extrasOf(manifest));
    console.error(`${weights} (${configLabel(sys.config.vae)} + ${configLabel(sys.config.unet)}) → ${out}: ${files.length} files; see ${out}/README.md`);
    return 0;
  },
};

export const importCommand: Command = {
  name: 'import',
  summary: 'convert a diffusers folder (an export, trained further in PyTorch, or e.g. SD 2.1) into RDDM weights',
  usage: `usage: rddm import --from diffusers DIR OUT_WEIGHTS [--prompt-embeds FILE]

  DIR: a folder \`rddm export --to diffusers\` wrote (unchanged, it comes back bit for bit), or any diffusers
  pipeline folder with unet/ and vae/ (e.g. Stable Diffusion 2.1: unet → sd21-unet, vae → sd21-vae). Without
  rddm.json the RDDM settings are the defaults, the latent scale is the VAE's scaling_factor, E_raw starts as a
  copy of the VAE encoder and the null-text context is zeros, or the embedding in
  --prompt-embeds FILE   safetensors with 'prompt_embeds' [1, tokens, dim] (e.g. SD 2.1's text encoder on "").
  OUT_WEIGHTS must be new or empty. (--weights and --init read such folders directly, too.)`,
  async run(args) {
    const { flags, positionals } = parseArgs(args, { string: ['from', 'prompt-embeds'] });
    if (flags.from !== 'diffusers') throw new UsageError(flags.from === undefined ? '--from diffusers is required (the only import format)' : `--from must be diffusers, got '${flags.from}'`);
    if (positionals.length !== 2) throw new UsageError(`expected DIR and OUT_WEIGHTS, got ${positionals.length} argument${positionals.length === 1 ? '' : 's'}`);
    const [dir, out] = positionals as [string, string];
    if (!existsSync(`${dir}/unet/config.json`)) throw new Error(`${dir}: no unet/config.json: not a diffusers folder`);
    const embeds = flags['prompt-embeds'] === undefined ? undefined : String(flags['prompt-embeds']);
    if (embeds !== undefined) inputFile(embeds, '--prompt-embeds file');
    freshDir(out, 'the import');
    await init();
    const src = embeds === undefined ? undefined : await openFileSource(embeds);
    try {
      const { sys, manifest } = await loadRddmDir(dir, src ? { promptEmbeds: await openSafetensors(src) } : {});
      await saveRddmDir(sys, out, extrasOf(manifest));
      console.error(`${dir} → ${out} (${configLabel(sys.config.vae)} + ${configLabel(sys.config.unet)}, latent scale ${sys.config.latentScale})`);
    } finally {
      await src?.close();
    }
    return 0;
  },
};
