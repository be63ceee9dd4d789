import source from '../../shaders/resample.wgsl';
import { noGrad, record } from '../autograd/graph.js';
import { Tensor, empty, isMetaMode } from '../tensor/tensor.js';
import { shapeStr } from '../tensor/shape.js';
import { expectFloat32 } from '../tensor/dtype.js';
import { contiguous } from './copy.js';
import { workgroups1d } from './dispatch.js';

const WG = 64;
type Pair = number | readonly [number, number];
const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

type Entry = 'upsample_forward' | 'upsample_backward' | 'avgpool_forward' | 'avgpool_backward';

/** Runs one resample entry over NCHW planes: `src` is read with the input plane (H, W), `dst` is dense. */
function run(entry: Entry, src: Tensor, dstShape: readonly number[], H: number, W: number, OH: number, OW: number, k: [number, number], s: [number, number], pad: [number, number]): Tensor {
  expectFloat32(entry, src);
  const x = contiguous(src);
  const out = empty(dstShape);
  const total = out.size;
  if (total > 0) {
    const dev = out.device;
    dev.dispatch({
      name: entry,
      pipeline: dev.pipeline(entry, source, { WG }, entry),
      buffers: [x.binding, out.binding],
      uniform: new Uint32Array([total, H, W, OH, OW, k[0], k[1], s[0], s[1], pad[0], pad[1], x.offset]),
      workgroups: workgroups1d(dev, total, WG),
      bytes: 4 * (x.size + total),
    });
  }
  if (x !== src) x.dispose();
  return out;
}

function check4d(op: string, x: Tensor): [number, number, number, number] {
  if (x.ndim !== 4) throw new Error(`${op}: input must be [N, C, H, W], got shape ${shapeStr(x.shape)}`);
  return x.shape as [number, number, number, number];
}

/**
 * Nearest-neighbour upsampling of NCHW by integer factors (one number, or [h, w]): each pixel becomes an s×s
 * block (PyTorch's F.interpolate(mode='nearest') with an integer scale). The gradient sums each block.
 */
export function upsampleNearest2d(x: Tensor, scale: Pair = 2): Tensor {
  const [N, C, H, W] = check4d('upsampleNearest2d', x);
  const s = pair(scale);
  if (!s.every((v) => Number.isInteger(v) && v >= 1)) throw new Error(`upsampleNearest2d: scale must be a positive integer or [h, w] pair of them, got ${JSON.stringify(scale)}`);
  const OH = H * s[0], OW = W * s[1];
  if (isMetaMode() || x.isMeta) return Tensor.meta([N, C, OH, OW]);
  const y = noGrad(() => run('upsample_forward', x, [N, C, OH, OW], H, W, OH, OW, [1, 1], s, [0, 0]));
  return record('upsampleNearest2d', y, [x], (g) => [noGrad(() => run('upsample_backward', g, [N, C, H, W], H, W, OH, OW, [1, 1], s, [0, 0]))]);
}

/**
 * Average pooling of NCHW (PyTorch's F.avg_pool2d with ceil_mode=False, count_include_pad=True): windows of
 * `kernel` (number or [h, w]) every `stride` (default: the kernel), zero `padding` counted in the average.
 */
export function avgPool2d(x: Tensor, kernel: Pair = 2, stride: Pair = kernel, padding: Pair = 0): Tensor {
  const [N, C, H, W] = check4d('avgPool2d', x);
  const k = pair(kernel), s = pair(stride), p = pair(padding);
  if (![...k, ...s].every((v) => Number.isInteger(v) && v >= 1) || !p.every((v) => Number.isInteger(v) && v >= 0)) {
    throw new Error(`avgPool2d: kernel and stride must be positive integers and padding non-negative (got kernel ${k}, stride ${s}, padding ${p})`);
  }
  if (p[0] > k[0] / 2 || p[1] > k[1] / 2) throw new Error(`avgPool2d: padding ${p} must be at most half the kernel ${k} (as in PyTorch)`);
  const OH = Math.floor((H + 2 * p[0] - k[0]) / s[0]) + 1, OW = Math.floor((W + 2 * p[1] - k[1]) / s[1]) + 1;
  if (OH < 1 || OW < 1) throw new Error(`avgPool2d: kernel ${k[0]}x${k[1]} is larger than the padded input ${H + 2 * p[0]}x${W + 2 * p[1]} (shape ${shapeStr(x.shape)})`);
  if (isMetaMode() || x.isMeta) return Tensor.meta([N, C, OH, OW]);
  const y = noGrad(() => run('avgpool_forward', x, [N, C, OH, OW], H, W, OH, OW, k, s, p));
  return record('avgPool2d', y, [x], (g) => [noGrad(() => run('avgpool_backward', g, [N, C, H, W], H, W, OH, OW, k, s, p))]);
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    upsampleNearest2d(scale?: Pair): Tensor;
    avgPool2d(kernel?: Pair, stride?: Pair, padding?: Pair): Tensor;
  }
}
Tensor.prototype.upsampleNearest2d = function (this: Tensor, scale?: Pair) {
  return upsampleNearest2d(this, scale);
};
Tensor.prototype.avgPool2d = function (this: Tensor, kernel?: Pair, stride?: Pair, padding?: Pair) {
  return avgPool2d(this, kernel, stride, padding);
};
