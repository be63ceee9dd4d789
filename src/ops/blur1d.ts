import source from '../../shaders/blur1d.wgsl';
import { record } from '../autograd/graph.js';
import { Tensor, empty } from '../tensor/tensor.js';
import { shapeStr } from '../tensor/shape.js';
import { contiguous } from './copy.js';
import { workgroups1d } from './dispatch.js';
import { tensor } from './creation.js';

/**
 * Filters every row (axis 'x') or column (axis 'y') of an [..., H, W] float32 tensor with `taps` (odd count, centred),
 * zero outside the image. Linear in x; its gradient is the same filter with the taps reversed. Why not conv2d with
 * groups: the depthwise case runs on conv2d's portable kernel, which made the blurs of the colour fix 16% of a
 * restore on lavapipe.
 */
export function blur1d(x: Tensor, taps: Float32Array, axis: 'x' | 'y'): Tensor {
  if (x.ndim < 2) throw new Error(`blur1d: expected a tensor [..., H, W], got ${shapeStr(x.shape)}`);
  if (x.dtype !== 'float32') throw new Error(`blur1d: expected a float32 tensor, got ${x.dtype}`);
  if (taps.length % 2 !== 1) throw new Error(`blur1d: the taps must be an odd count (centred), got ${taps.length}`);
  const out = run(x, taps, axis);
  return record('blur1d', out, [x], (g) => [run(g, taps.slice().reverse(), axis)]);
}

function run(x: Tensor, taps: Float32Array, axis: 'x' | 'y'): Tensor {
  const [h, w] = [x.shape[x.ndim - 2]!, x.shape[x.ndim - 1]!];
  const src = contiguous(x);
  const out = empty(x.shape);
  const total = out.size;
  if (total > 0) {
    const k = tensor(taps, [taps.length]);
    const dev = out.device;
    dev.dispatch({
      name: 'blur1d',
      pipeline: dev.pipeline('blur1d', source, { WG: 256, AXIS: axis === 'x' ? 0 : 1 }),
      buffers: [src.binding, k.binding, out.binding],
      uniform: new Uint32Array([h, w, taps.length, total, src.offset, 0, 0, 0]),
      workgroups: workgroups1d(dev, total, 256),
      flops: 2 * total * taps.length,
      bytes: 4 * (total * 2 + taps.length),
    });
    k.dispose();
  }
  if (src !== x) src.dispose();
  return out;
}
