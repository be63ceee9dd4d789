import { getDevice } from '../../runtime/index.js';
import { Tensor } from '../tensor/tensor.js';
import { Storage } from '../tensor/storage.js';

/**
 * Uploads a small per-image parameter table (pattern codes, noise levels, blur kernels) as a storage buffer
 * wrapped in a tensor, so it is freed like any tensor and can be saved for a backward rule. The words are raw
 * 32-bit values: kernels read integers directly and floats through bitcast<f32>.
 */
export function uploadWords(words: Uint32Array | Float32Array): Tensor {
  const dev = getDevice();
  const bytes = Math.max(4, words.byteLength);
  const buf = dev.createBuffer(bytes, 'raw-params');
  if (words.length) dev.upload(buf, words);
  return new Tensor(new Storage(dev, buf, bytes), [words.length], { dtype: 'int32' });
}
