// The `models` namespace: Stable Diffusion's AutoencoderKL (the RVAE) and UNet2DConditionModel with diffusers'
// parameter names, their configs, CMB-LoRA, weights I/O, tiled VAE and summaries.
export * from './configs.js';
export { ResnetBlock2D, Downsample2D, Upsample2D } from './resnet-block.js';
export { Attention, BasicTransformerBlock, FeedForward, GEGLU, Transformer2DModel } from './attention-blocks.js';
export { DownBlock2D, UpBlock2D, UNetMidBlock2DCrossAttn, DownEncoderBlock2D, UpDecoderBlock2D, UNetMidBlock2D } from './unet-blocks.js';
export { UNet2DConditionModel, TimestepEmbedding } from './unet.js';
export { AutoencoderKL, Encoder, Decoder, DiagonalGaussian } from './vae.js';
export { NullTextContext, loadPromptEmbedding } from './text-context.js';
export { tiledDecode, tiledEncodeMoments, type TileOptions } from './tiled-vae.js';
export { applyCmbLora, setBayerPattern, cmbLoraTargets, cmbLoraParameterCount, CMB_ADAPTERS, type CmbLoraInfo, type CmbLoraOptions } from './cmb-lora.js';
export { loadWeights, saveWeights, saveLora, loadLora, baseParameters, type LoadWeightsOptions, type SaveLoraOptions, type LoadLoraOptions } from './weights-io.js';
export { buildModel, summarizeModel, countBlocks, type ModelSummary, type BlockCount } from './model-summary.js';
export { estimateUNetActivations, estimateVaeActivations, type ActivationEstimate } from './activation-estimate.js';
