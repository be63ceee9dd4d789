import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/scope.js';
import { shapeStr } from '../tensor/shape.js';
import { randn } from '../ops/random.js';
import { tensor } from '../ops/creation.js';
import { Module, parameter } from '../nn/module.js';
import { SafetensorsError, type SafetensorsFile } from '../io/safetensors.js';
import type { UNetConfig } from './configs.js';

/**
 * The cross-attention context when there is no text encoder: one learned [tokens, crossAttentionDim] embedding
 * shared by every sample (our own models). It lives outside the UNet so the UNet's weights keep exactly diffusers'
 * key set; it saves under the single key `null_text_embedding`.
 */
export class NullTextContext extends Module {
  null_text_embedding: Tensor;
  constructor(readonly config: Pick<UNetConfig, 'contextLength' | 'crossAttentionDim'>) {
    super();
    // Small values, like a text encoder's normalised output scale; training moves it.
    this.null_text_embedding = parameter(randn([1, config.contextLength, config.crossAttentionDim], { std: 0.02 }));
  }
  /**
   * [batch, tokens, crossAttentionDim]; gradients from every sample sum into the one embedding. Dense (one copy):
   * every cross-attention's k and v projection reads it, and a broadcast view would be copied by each of them.
   */
  forward(batch: number): Tensor {
    return tidy(() => this.null_text_embedding.expand([batch, this.config.contextLength, this.config.crossAttentionDim]).contiguous());
  }
}

/**
 * Reads a prompt embedding (e.g. SD 2.1's OpenCLIP output for a prompt, [1, 77, 1024] or [77, 1024]) from a
 * safetensors file, for running real SD 2.1 weights. `key` defaults to 'prompt_embeds', or the file's only tensor.
 */
export async function loadPromptEmbedding(file: SafetensorsFile, config: Pick<UNetConfig, 'crossAttentionDim'>, key?: string): Promise<Tensor> {
  const keys = file.keys();
  const name = key ?? (keys.includes('prompt_embeds') ? 'prompt_embeds' : keys.length === 1 ? keys[0] : undefined);
  if (!name) throw new SafetensorsError(`${file.name}: cannot tell which tensor is the prompt embedding among ${keys.slice(0, 6).join(', ')}${keys.length > 6 ? ', …' : ''}; name it 'prompt_embeds' or pass its key`);
  const shape = file.info(name).shape;
  const d = config.crossAttentionDim;
  const ok = (shape.length === 2 && shape[1] === d) || (shape.length === 3 && shape[2] === d);
  if (!ok) throw new SafetensorsError(`${file.name}: prompt embedding '${name}' has shape ${shapeStr(shape)}; expected [tokens, ${d}] or [batch, tokens, ${d}] for this UNet`);
  const data = await file.getFloat32(name);
  return tensor(data, shape.length === 2 ? [1, ...shape] : shape);
}
