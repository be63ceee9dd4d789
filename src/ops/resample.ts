import type { Tensor } from '../tensor/tensor.js';
import { shapeStr } from '../tensor/shape.js';
import { contiguous } from './copy.js';
import { expand, reshape } from './shape-ops.js';

/**
 * Nearest-neighbour upsampling of NCHW by an integer factor, as a broadcast view ([N,C,H,1,W,1] → [N,C,H,s,W,s])
 * made dense: one copy kernel, no dedicated shader. The gradient sums each s×s block.
 */
export function upsampleNearest2d(x: Tensor, scale = 2): Tensor {
  if (x.ndim !== 4) throw new Error(`upsampleNearest2d: input must be [N, C, H, W], got ${shapeStr(x.shape)}`);
  if (!Number.isInteger(scale) || scale < 1) throw new Error(`upsampleNearest2d: scale must be a positive integer, got ${scale}`);
  const [N, C, H, W] = x.shape;
  const v = reshape(x, [N, C, H, 1, W, 1]);
  const e = expand(v, [N, C, H, scale, W, scale]);
  const d = contiguous(e);
  const out = reshape(d, [N, C, H * scale, W * scale]);
  for (const t of [v, e, d]) if (t !== out && t !== x) t.dispose();
  return out;
}

/** Average pooling with a square kernel and stride (no padding): a reshape-and-mean when stride == kernel. */
export function avgPool2d(x: Tensor, kernel = 2, stride = kernel): Tensor {
  if (x.ndim !== 4) throw new Error(`avgPool2d: input must be [N, C, H, W], got ${shapeStr(x.shape)}`);
  if (stride !== kernel) throw new Error(`avgPool2d: only stride == kernel is supported (got kernel ${kernel}, stride ${stride})`);
  const [N, C, H, W] = x.shape;
  const oh = Math.floor(H / kernel), ow = Math.floor(W / kernel);
  if (oh < 1 || ow < 1) throw new Error(`avgPool2d: kernel ${kernel} is larger than the input ${H}x${W}`);
  const cropped = H % kernel || W % kernel ? x.slice(2, 0, oh * kernel).slice(3, 0, ow * kernel) : x;
  const v = reshape(cropped, [N, C, oh, kernel, ow, kernel]);
  const out = v.mean([3, 5]);
  if (cropped !== x) cropped.dispose();
  v.dispose();
  return out;
}
