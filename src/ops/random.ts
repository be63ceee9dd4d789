import kernel from '../../shaders/philox.wgsl';
import philoxLib from '../../shaders/philox-lib.wgsl';
import { getDevice } from '../../runtime/index.js';
import { Tensor, empty, isMetaMode } from '../tensor/tensor.js';
import { assertShape, numel, type Shape } from '../tensor/shape.js';
import { seedKey } from '../random/philox.js';
import { workgroups1d } from './dispatch.js';

/** The generator functions live in philox-lib.wgsl, shared with other random kernels (src/raw/noise.ts). */
const source = `${philoxLib}\n${kernel}`;

/**
 * The default generator: a seed and a stream counter. Draws without an explicit seed use (seed, stream++), so
 * successive draws differ while a run stays reproducible from its seed; checkpoints save and restore this state.
 */
const state = { seed: 0, stream: 0 };

export function manualSeed(seed: number): void {
  seedKey(seed);
  state.seed = seed;
  state.stream = 0;
}
export function getRngState(): { seed: number; stream: number } {
  return { ...state };
}
export function setRngState(s: { seed: number; stream: number }): void {
  seedKey(s.seed);
  state.seed = s.seed;
  state.stream = s.stream >>> 0;
}

export interface RandomOptions {
  /** Explicit seed: the draw is then (seed, stream) regardless of the default generator. */
  seed?: number;
  /** Stream for explicit seeds (default 0): different streams of one seed are independent. */
  stream?: number;
  requiresGrad?: boolean;
}

function draw(dist: 0 | 1, shape: Shape, scale: number, shift: number, opts: RandomOptions): Tensor {
  assertShape(dist ? 'randn' : 'rand', shape);
  if (isMetaMode()) return Tensor.meta(shape);
  const dev = getDevice();
  const seed = opts.seed ?? state.seed;
  const stream = opts.seed !== undefined ? (opts.stream ?? 0) : state.stream++;
  const [k0, k1] = seedKey(seed);
  const n = numel(shape);
  const t = empty(shape, 'float32', dev);
  if (n > 0) {
    const u = new Uint32Array([n, k0, k1, stream >>> 0, 0, 0, 0, 0]);
    new Float32Array(u.buffer).set([scale, shift], 4);
    dev.dispatch({
      name: dist ? 'randn' : 'rand',
      pipeline: dev.pipeline('philox', source, { WG: 64, DIST: dist }),
      buffers: [t.binding],
      uniform: u,
      workgroups: workgroups1d(dev, Math.ceil(n / 4), 64),
      bytes: 4 * n,
    });
  }
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

/** Uniform in [low, high). With the default range the values equal the CPU reference bit for bit. */
export const rand = (shape: Shape, opts: RandomOptions & { low?: number; high?: number } = {}): Tensor =>
  draw(0, shape, (opts.high ?? 1) - (opts.low ?? 0), opts.low ?? 0, opts);

/** Normal with the given mean and std (standard by default), by Box-Muller from Philox words. */
export const randn = (shape: Shape, opts: RandomOptions & { mean?: number; std?: number } = {}): Tensor =>
  draw(1, shape, opts.std ?? 1, opts.mean ?? 0, opts);
