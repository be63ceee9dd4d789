/**
 * diffusers' `config.json` for UNet2DConditionModel and AutoencoderKL, both ways. Import is strict: every field
 * diffusers defines is either mapped onto our config or accepted only at the value our models implement, and any
 * other value, or a field we do not know, fails naming the field. Export writes every field diffusers reads, with
 * diffusers' own names and meanings, so `from_pretrained` builds exactly our architecture.
 *
 * The one trap: SD 2.x configs list `attention_head_dim: [5, 10, 20, 20]`, and diffusers uses that list as the number
 * of heads per block (its head width is channels / heads = 64), not as the width of a head. `num_attention_heads`
 * must stay null: diffusers' UNet2DConditionModel refuses it ("not possible to define the number of attention heads
 * via `num_attention_heads` because of a naming issue"). We write and read `attention_head_dim` exactly so.
 */

import { ConfigCheck } from '../io/config-check.js';
import { MODEL_CONFIG_NAMES, MODEL_CONFIGS, validateUNetConfig, validateVaeConfig, type DownBlockType, type UNetConfig, type UpBlockType, type VaeConfig } from './configs.js';

/** The diffusers release whose semantics these files follow (and that test/models/diffusers/gen runs). */
export const DIFFUSERS_VERSION = '0.31.0';

/** SD's text encoders emit 77 tokens; a diffusers config does not say, so imported UNets default to it. */
export const DEFAULT_CONTEXT_LENGTH = 77;

type Json = Record<string, unknown>;

/** A field diffusers defines that our models implement at one value only (or any value, where it is precision only). */
type Fixed = { value: unknown } | { any: 'boolean' | 'number' | 'int-or-null' | 'anything'; why: string };

const UNET_FIXED: Record<string, Fixed> = {
  center_input_sample: { value: false },
  downsample_padding: { value: 1 },
  mid_block_scale_factor: { value: 1 },
  dropout: { value: 0 },
  act_fn: { value: 'silu' },
  mid_block_type: { value: 'UNetMidBlock2DCrossAttn' },
  reverse_transformer_layers_per_block: { value: null },
  encoder_hid_dim: { value: null },
  encoder_hid_dim_type: { value: null },
  num_attention_heads: { value: null },
  dual_cross_attention: { value: false },
  use_linear_projection: { value: true },
  class_embed_type: { value: null },
  addition_embed_type: { value: null },
  addition_time_embed_dim: { value: null },
  num_class_embeds: { value: null },
  resnet_time_scale_shift: { value: 'default' },
  resnet_skip_time_act: { value: false },
  resnet_out_scale_factor: { value: 1 },
  time_embedding_type: { value: 'positional' },
  time_embedding_dim: { value: null },
  time_embedding_act_fn: { value: null },
  timestep_post_act: { value: null },
  time_cond_proj_dim: { value: null },
  conv_in_kernel: { value: 3 },
  conv_out_kernel: { value: 3 },
  projection_class_embeddings_input_dim: { value: null },
  attention_type: { value: 'default' },
  class_embeddings_concat: { value: false },
  mid_block_only_cross_attention: { value: null },
  cross_attention_norm: { value: null },
  upcast_attention: { any: 'boolean', why: 'only changes half-precision attention in PyTorch; ours is float32' },
  sample_size: { any: 'anything', why: "the pipeline's default latent size, not part of the model" },
  addition_embed_type_num_heads: { any: 'int-or-null', why: 'unused without addition_embed_type' },
};

/** Fields of diffusers' AutoencoderKL our VAE implements at one value only. */
const VAE_FIXED: Record<string, Fixed> = {
  act_fn: { value: 'silu' },
  shift_factor: { value: null },
  latents_mean: { value: null },
  latents_std: { value: null },
  use_quant_conv: { value: true },
  use_post_quant_conv: { value: true },
  force_upcast: { any: 'boolean', why: 'only changes half-precision decoding in PyTorch' },
  sample_size: { any: 'anything', why: "the pipeline's default image size, not part of the model" },
};

const UNET_MAPPED = ['in_channels', 'out_channels', 'block_out_channels', 'down_block_types', 'up_block_types', 'layers_per_block', 'attention_head_dim', 'cross_attention_dim', 'norm_num_groups', 'norm_eps', 'flip_sin_to_cos', 'freq_shift', 'only_cross_attention', 'transformer_layers_per_block'];
const VAE_MAPPED = ['in_channels', 'out_channels', 'latent_channels', 'block_out_channels', 'down_block_types', 'up_block_types', 'layers_per_block', 'norm_num_groups', 'scaling_factor', 'mid_block_add_attention'];

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

function checkFixed(k: ConfigCheck, o: Json, table: Record<string, Fixed>, what: string): void {
  for (const [field, rule] of Object.entries(table)) {
    if (!Object.hasOwn(o, field)) continue;
    const v = o[field];
    if ('value' in rule) {
      // diffusers writes 1.0 for floats; JSON gives 1 either way.
      if (!same(v, rule.value)) k.fail(field, `= ${JSON.stringify(v)} is not supported: rddm's ${what} implements only ${JSON.stringify(rule.value)}${field === 'use_linear_projection' ? " (SD 1.x's 1x1-conv proj_in/proj_out are not implemented; SD 2.x uses linear projections)" : field === 'num_attention_heads' ? " (diffusers' UNet2DConditionModel refuses it too: put the number of heads in attention_head_dim)" : ''}`);
    } else if (rule.any === 'boolean' && typeof v !== 'boolean') k.fail(field, `must be true or false, got ${JSON.stringify(v)}`);
    else if (rule.any === 'int-or-null' && v !== null && !Number.isInteger(v)) k.fail(field, `must be an integer or null, got ${JSON.stringify(v)}`);
  }
}

function checkKnown(k: ConfigCheck, o: Json, className: string, mapped: readonly string[], fixed: Record<string, Fixed>): void {
  if (Object.hasOwn(o, '_class_name') && o._class_name !== className) k.fail('_class_name', `is ${JSON.stringify(o._class_name)}; this loader reads ${className} configs`);
  for (const field of Object.keys(o)) {
    // Underscored keys are diffusers' bookkeeping (_class_name, _diffusers_version, _name_or_path, _use_default_values).
    if (field.startsWith('_') || mapped.includes(field) || Object.hasOwn(fixed, field)) continue;
    k.fail(field, `is not a ${className} field that rddm knows; remove it or use a diffusers release that does not write it`);
  }
}

/** A list whose entries must all be equal (diffusers allows per-block values; our models use one), or a scalar. */
function uniform(k: ConfigCheck, v: unknown, field: string, levels: number): unknown {
  if (!Array.isArray(v)) return v;
  if (v.length !== levels) k.fail(field, `has ${v.length} entries; there are ${levels} blocks`);
  if (v.some((x) => !same(x, v[0]))) k.fail(field, `= ${JSON.stringify(v)} varies per block; rddm supports one value for every block`);
  return v[0];
}

/**
 * A UNet2DConditionModel config.json → our UNetConfig. `contextLength` (tokens of the cross-attention context) is not
 * a diffusers field: pass it when known (default 77, SD's text encoders).
 */
export function unetConfigFromDiffusers(json: unknown, source = 'unet/config.json', contextLength = DEFAULT_CONTEXT_LENGTH): UNetConfig {
  const k = new ConfigCheck(source);
  const o = k.object(json, 'config');
  checkKnown(k, o, 'UNet2DConditionModel', UNET_MAPPED, UNET_FIXED);
  checkFixed(k, o, UNET_FIXED, 'UNet2DConditionModel');
  const get = (f: string, dflt: unknown) => (Object.hasOwn(o, f) ? o[f] : dflt);
  // Defaults are diffusers' own (UNet2DConditionModel.__init__), so a config that leaves a field out means what it means there.
  const blockOut = k.array(get('block_out_channels', [320, 640, 1280, 1280]), 'block_out_channels', 8).map((v, i) => k.int(v, `block_out_channels[${i}]`, 1, 8192));
  const n = blockOut.length;
  const down = k.array(get('down_block_types', ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D']), 'down_block_types', 8).map((v, i) => k.oneOf<DownBlockType>(v, `down_block_types[${i}]`, ['CrossAttnDownBlock2D', 'DownBlock2D']));
  const up = k.array(get('up_block_types', ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D']), 'up_block_types', 8).map((v, i) => k.oneOf<UpBlockType>(v, `up_block_types[${i}]`, ['CrossAttnUpBlock2D', 'UpBlock2D']));
  if (down.length !== n || up.length !== n) k.fail('down_block_types', `and up_block_types need one entry per block_out_channels entry (${n}); got ${down.length} and ${up.length}`);
  const heads = get('attention_head_dim', 8);
  const numHeads = Array.isArray(heads) ? k.array(heads, 'attention_head_dim', 8).map((v, i) => k.int(v, `attention_head_dim[${i}]`, 1, 256)) : Array.from({ length: n }, () => k.int(heads, 'attention_head_dim', 1, 256));
  if (numHeads.length !== n) k.fail('attention_head_dim', `has ${numHeads.length} entries; there are ${n} blocks`);
  if (!same(uniform(k, get('only_cross_attention', false), 'only_cross_attention', n), false)) k.fail('only_cross_attention', 'must be false: rddm\'s transformer blocks always have self-attention');
  if (!same(uniform(k, get('transformer_layers_per_block', 1), 'transformer_layers_per_block', n), 1)) k.fail('transformer_layers_per_block', 'must be 1 (one transformer block per Transformer2DModel)');
  const groups = get('norm_num_groups', 32);
  if (groups === null) k.fail('norm_num_groups', '= null (no conv_norm_out) is not supported');
  const config: UNetConfig = {
    kind: 'unet',
    inChannels: k.int(get('in_channels', 4), 'in_channels', 1, 256),
    outChannels: k.int(get('out_channels', 4), 'out_channels', 1, 256),
    blockOutChannels: blockOut,
    downBlockTypes: down,
    upBlockTypes: up,
    layersPerBlock: k.int(uniform(k, get('layers_per_block', 2), 'layers_per_block', n), 'layers_per_block', 1, 16),
    numAttentionHeads: numHeads,
    crossAttentionDim: k.int(uniform(k, get('cross_attention_dim', 1280), 'cross_attention_dim', n), 'cross_attention_dim', 1, 8192),
    normNumGroups: k.int(groups, 'norm_num_groups', 1, 8192),
    normEps: k.number(get('norm_eps', 1e-5), 'norm_eps', 0, 1, true),
    flipSinToCos: k.boolean(get('flip_sin_to_cos', true), 'flip_sin_to_cos'),
    freqShift: k.number(get('freq_shift', 0), 'freq_shift', -1e3, 1e3),
    contextLength,
  };
  validateUNetConfig(config, source);
  return config;
}

/** An AutoencoderKL config.json → our VaeConfig (scalingFactor: diffusers' scaling_factor, default 0.18215). */
export function vaeConfigFromDiffusers(json: unknown, source = 'vae/config.json'): VaeConfig {
  const k = new ConfigCheck(source);
  const o = k.object(json, 'config');
  checkKnown(k, o, 'AutoencoderKL', VAE_MAPPED, VAE_FIXED);
  checkFixed(k, o, VAE_FIXED, 'AutoencoderKL');
  const get = (f: string, dflt: unknown) => (Object.hasOwn(o, f) ? o[f] : dflt);
  const blockOut = k.array(get('block_out_channels', [64]), 'block_out_channels', 8).map((v, i) => k.int(v, `block_out_channels[${i}]`, 1, 8192));
  const n = blockOut.length;
  for (const [field, type, dflt] of [['down_block_types', 'DownEncoderBlock2D', ['DownEncoderBlock2D']], ['up_block_types', 'UpDecoderBlock2D', ['UpDecoderBlock2D']]] as const) {
    const list = k.array(get(field, dflt), field, 8).map((v, i) => k.oneOf(v, `${field}[${i}]`, [type]));
    if (list.length !== n) k.fail(field, `has ${list.length} entries; block_out_channels has ${n}`);
  }
  const config: VaeConfig = {
    kind: 'vae',
    inChannels: k.int(get('in_channels', 3), 'in_channels', 1, 256),
    outChannels: k.int(get('out_channels', 3), 'out_channels', 1, 256),
    latentChannels: k.int(get('latent_channels', 4), 'latent_channels', 1, 256),
    blockOutChannels: blockOut,
    layersPerBlock: k.int(get('layers_per_block', 1), 'layers_per_block', 1, 16),
    normNumGroups: k.int(get('norm_num_groups', 32), 'norm_num_groups', 1, 8192),
    scalingFactor: k.number(get('scaling_factor', 0.18215), 'scaling_factor', 0, 1e6, true),
    // Only when false, so that an SD config (true or absent) keeps the architecture key of the configs without it.
    ...(k.boolean(get('mid_block_add_attention', true), 'mid_block_add_attention') ? {} : { midBlockAddAttention: false }),
  };
  validateVaeConfig(config, source);
  return config;
}

/**
 * Our UNetConfig → a complete UNet2DConditionModel config.json object. Every field diffusers reads is written (none
 * is left to its defaults). upcast_attention is true: our attention runs in float32, and so does PyTorch's with it
 * in half precision; in float32 it changes nothing.
 */
export function unetConfigToDiffusers(c: UNetConfig, sampleSize = 64): Json {
  return {
    _class_name: 'UNet2DConditionModel',
    _diffusers_version: DIFFUSERS_VERSION,
    act_fn: 'silu',
    addition_embed_type: null,
    addition_embed_type_num_heads: 64,
    addition_time_embed_dim: null,
    attention_head_dim: [...c.numAttentionHeads],
    attention_type: 'default',
    block_out_channels: [...c.blockOutChannels],
    center_input_sample: false,
    class_embed_type: null,
    class_embeddings_concat: false,
    conv_in_kernel: 3,
    conv_out_kernel: 3,
    cross_attention_dim: c.crossAttentionDim,
    cross_attention_norm: null,
    down_block_types: [...c.downBlockTypes],
    downsample_padding: 1,
    dropout: 0.0,
    dual_cross_attention: false,
    encoder_hid_dim: null,
    encoder_hid_dim_type: null,
    flip_sin_to_cos: c.flipSinToCos,
    freq_shift: c.freqShift,
    in_channels: c.inChannels,
    layers_per_block: c.layersPerBlock,
    mid_block_only_cross_attention: null,
    mid_block_scale_factor: 1,
    mid_block_type: 'UNetMidBlock2DCrossAttn',
    norm_eps: c.normEps,
    norm_num_groups: c.normNumGroups,
    num_attention_heads: null,
    num_class_embeds: null,
    only_cross_attention: false,
    out_channels: c.outChannels,
    projection_class_embeddings_input_dim: null,
    resnet_out_scale_factor: 1.0,
    resnet_skip_time_act: false,
    resnet_time_scale_shift: 'default',
    reverse_transformer_layers_per_block: null,
    sample_size: sampleSize,
    time_cond_proj_dim: null,
    time_embedding_act_fn: null,
    time_embedding_dim: null,
    time_embedding_type: 'positional',
    timestep_post_act: null,
    transformer_layers_per_block: 1,
    up_block_types: [...c.upBlockTypes],
    upcast_attention: true,
    use_linear_projection: true,
  };
}

/** Our VaeConfig → a complete AutoencoderKL config.json object; `scalingFactor` overrides the config's (RDDM's latent scale). */
export function vaeConfigToDiffusers(c: VaeConfig, scalingFactor = c.scalingFactor, sampleSize = 512): Json {
  const n = c.blockOutChannels.length;
  return {
    _class_name: 'AutoencoderKL',
    _diffusers_version: DIFFUSERS_VERSION,
    act_fn: 'silu',
    block_out_channels: [...c.blockOutChannels],
    down_block_types: Array.from({ length: n }, () => 'DownEncoderBlock2D'),
    force_upcast: true,
    in_channels: c.inChannels,
    latent_channels: c.latentChannels,
    latents_mean: null,
    latents_std: null,
    layers_per_block: c.layersPerBlock,
    mid_block_add_attention: c.midBlockAddAttention ?? true,
    norm_num_groups: c.normNumGroups,
    out_channels: c.outChannels,
    sample_size: sampleSize,
    scaling_factor: scalingFactor,
    shift_factor: null,
    up_block_types: Array.from({ length: n }, () => 'UpDecoderBlock2D'),
    use_post_quant_conv: true,
    use_quant_conv: true,
  };
}

/**
 * The architecture of a config, as a canonical string: what the weights' shapes and the forward pass depend on.
 * A VAE's scalingFactor and a UNet's contextLength are left out (they scale latents outside the model and size the
 * context it is given).
 */
export function architectureKey(c: UNetConfig | VaeConfig): string {
  const o = c as unknown as Record<string, unknown>;
  return JSON.stringify(Object.keys(o).filter((key) => key !== 'scalingFactor' && key !== 'contextLength').sort().map((key) => [key, o[key]]));
}

/** The built-in config with the same architecture (see architectureKey), if there is one: e.g. 'sd21-unet'. */
export function namedConfigFor(c: UNetConfig | VaeConfig): string | null {
  const key = architectureKey(c);
  return MODEL_CONFIG_NAMES.find((name) => MODEL_CONFIGS[name].kind === c.kind && architectureKey(MODEL_CONFIGS[name]) === key) ?? null;
}
