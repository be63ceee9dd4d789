import { Tensor, empty, type NestedArray } from '../tensor/tensor.js';
import { assertShape, numel, shapeStr, type Shape } from '../tensor/shape.js';
import { runMap } from './map-kernel.js';

export interface CreateOptions {
  requiresGrad?: boolean;
}

function finish(t: Tensor, opts?: CreateOptions): Tensor {
  if (opts?.requiresGrad) t.requiresGrad = true;
  return t;
}

function inferShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let cur: NestedArray = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0];
  }
  return shape;
}

function flatten(data: NestedArray, shape: number[], out: Float32Array): void {
  let k = 0;
  const walk = (v: NestedArray, dim: number): void => {
    if (dim === shape.length) {
      if (typeof v !== 'number') throw new Error(`tensor(): expected a number at depth ${dim}, got ${Array.isArray(v) ? 'an array' : typeof v}`);
      out[k++] = v;
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[dim]) {
      throw new Error(`tensor(): ragged nested array: expected length ${shape[dim]} at depth ${dim} (inferred shape ${shapeStr(shape)})`);
    }
    for (const x of v) walk(x, dim + 1);
  };
  walk(data, 0);
}

/** A tensor from nested arrays, a number, or a typed array with a shape. Data is copied to the GPU. */
export function tensor(data: NestedArray | Float32Array | ArrayLike<number>, shapeOrOpts?: Shape | CreateOptions, maybeOpts?: CreateOptions): Tensor {
  const opts = Array.isArray(shapeOrOpts) ? maybeOpts : (shapeOrOpts as CreateOptions | undefined);
  let shape: number[];
  let values: Float32Array;
  const explicitShape = Array.isArray(shapeOrOpts);
  if (typeof data === 'number' || (Array.isArray(data) && !explicitShape)) {
    shape = inferShape(data as NestedArray);
    values = new Float32Array(numel(shape));
    flatten(data as NestedArray, shape, values);
  } else if (Array.isArray(data)) {
    const nested = inferShape(data as NestedArray);
    values = new Float32Array(numel(nested));
    flatten(data as NestedArray, nested, values);
    shape = [...(shapeOrOpts as Shape)];
    if (numel(shape) !== values.length) throw new Error(`tensor(): ${values.length} values do not fill shape ${shapeStr(shape)} (${numel(shape)} elements)`);
  } else {
    values = data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
    shape = Array.isArray(shapeOrOpts) ? [...(shapeOrOpts as Shape)] : [values.length];
    if (numel(shape) !== values.length) {
      throw new Error(`tensor(): ${values.length} values do not fill shape ${shapeStr(shape)} (${numel(shape)} elements)`);
    }
  }
  assertShape('tensor', shape);
  const t = empty(shape);
  if (values.length && !t.isMeta) t.device.upload(t.buffer, values, 0, { fresh: true });
  return finish(t, opts);
}

/** A 0-d tensor holding `v`. */
export function scalarTensor(v: number): Tensor {
  return tensor(v);
}

export function full(shape: Shape, value: number, opts?: CreateOptions): Tensor {
  assertShape('full', shape);
  const t = runMap('fill', [], 's0', [], shape, { scalars: [value], out: empty(shape) });
  return finish(t, opts);
}

export const zeros = (shape: Shape, opts?: CreateOptions): Tensor => full(shape, 0, opts);
export const ones = (shape: Shape, opts?: CreateOptions): Tensor => full(shape, 1, opts);
export const zerosLike = (t: Tensor): Tensor => full(t.shape, 0);
export const onesLike = (t: Tensor): Tensor => full(t.shape, 1);

/** Values start, start+step, … below end (as NumPy's arange). */
export function arange(start: number, end?: number, step = 1): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0) throw new Error('arange: step must not be 0');
  const n = Math.max(0, Math.ceil((end - start) / step));
  return runMap('arange', [], 's0 + s1 * f32(i)', [], [n], { scalars: [start, step], out: empty([n]) });
}
