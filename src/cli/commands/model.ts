import { parseArgs, UsageError, type Command } from '../command.js';
import { MODEL_CONFIG_NAMES } from '../../models/configs.js';
import { summarizeModel, type ModelSummary } from '../../models/model-summary.js';

// WebGPU's default maxStorageBufferBindingSize; tensors above it need tiling or a device with a higher limit.
const BINDING_LIMIT = 128 * 1024 * 1024;

const int = (n: number): string => n.toLocaleString('en-US');
function bytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  return `${(n / 1024).toFixed(1)} KiB`;
}

function print(s: ModelSummary): void {
  const cls = s.kind === 'unet' ? 'UNet2DConditionModel' : 'AutoencoderKL';
  console.log(`model        ${s.config} (${cls})`);
  console.log(`parameters   ${int(s.parameters)} in ${s.tensors} tensors (trainable ${int(s.trainable)}; ${bytes(4 * s.parameters)} as float32)`);
  console.log('per block');
  const w = Math.max(...s.blocks.map((b) => b.name.length));
  for (const b of s.blocks) console.log(`  ${b.name.padEnd(w)}  ${int(b.parameters).padStart(13)}  (${b.tensors} tensors)`);
  const l = s.cmbLora;
  console.log(`CMB-LoRA     rank ${l.rank} × 4 Bayer patterns on ${l.layers} layers: ${int(l.parameters)} trainable parameters (${int(l.perPattern)} per pattern), base frozen`);
  const [ih, iw] = s.resolution.image;
  const [lh, lw] = s.resolution.latent;
  const a = s.activations;
  const where = s.kind === 'unet' ? `${ih}x${iw} image (latent ${lh}x${lw})` : `${ih}x${iw} image, encode + decode (latent ${lh}x${lw})`;
  console.log(`activations  estimated at ${where}, batch ${s.resolution.batch}, float32`);
  console.log(`  training (kept for backward)  ${bytes(a.trainingBytes)}`);
  console.log(`  inference peak                ${bytes(a.inferencePeakBytes)}`);
  const over = a.largestTensorBytes > BINDING_LIMIT ? ` — over the ${bytes(BINDING_LIMIT)} storage-binding limit: use tiling or a smaller size` : '';
  console.log(`  largest tensor                ${bytes(a.largestTensorBytes)} in ${a.largestTensor}${over}`);
}

export const model: Command = {
  name: 'model',
  summary: 'print a model config’s parameter counts, CMB-LoRA size and activation memory (allocates nothing)',
  usage: [
    'usage: rddm model --config NAME [--size PIXELS] [--batch N] [--lora-rank R] [--json]',
    '',
    `  --config NAME   one of ${MODEL_CONFIG_NAMES.join(', ')}`,
    '  --size PIXELS   image side for the activation estimate (default 512)',
    '  --batch N       batch size for the activation estimate (default 1)',
    '  --lora-rank R   CMB-LoRA rank to count (default 4)',
    '  --json          print the summary as JSON',
    '',
    'The model is built from shape-only tensors: no GPU is used and no weights are allocated.',
  ].join('\n'),
  async run(args) {
    const { flags, positionals } = parseArgs(args, { boolean: ['json'], string: ['config', 'size', 'batch', 'lora-rank'] });
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const name = flags.config;
    if (typeof name !== 'string') throw new UsageError(`--config is required (one of ${MODEL_CONFIG_NAMES.join(', ')})`);
    if (!(MODEL_CONFIG_NAMES as string[]).includes(name)) throw new UsageError(`unknown config '${name}'; known: ${MODEL_CONFIG_NAMES.join(', ')}`);
    const num = (flag: string, dflt: number): number => {
      const v = flags[flag];
      if (v === undefined) return dflt;
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${flag} must be a positive integer, got '${String(v)}'`);
      return n;
    };
    const summary = summarizeModel(name, { size: num('size', 512), batch: num('batch', 1), loraRank: num('lora-rank', 4) });
    if (flags.json) console.log(JSON.stringify(summary, null, 2));
    else print(summary);
    return 0;
  },
};
