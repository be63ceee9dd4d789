import template from '../../shaders/map.wgsl';
import type { GpuDevice } from '../../runtime/index.js';
import { Tensor, empty, isMetaMode } from '../tensor/tensor.js';
import { MAX_RANK, numel, sameShape, shapeStr, type Shape } from '../tensor/shape.js';
import { bytesPerElement, wgslType, type DType } from '../tensor/dtype.js';
import { workgroups1d } from './dispatch.js';

const MAX_INPUTS = 4;
const sources = new Map<string, string>();

/**
 * Fills the map template: one storage binding per named input, the output, and the expression. float16 inputs
 * are widened as they are loaded and a float16 output is rounded once as it is stored: `expr` always computes
 * in f32.
 */
function mapSource(vars: readonly string[], expr: string, inTypes: readonly DType[], outType: DType): string {
  const key = `${vars.join(',')}|${inTypes.join(',')}|${outType}|${expr}`;
  let src = sources.get(key);
  if (!src) {
    const n = vars.length;
    const half = outType === 'float16' || inTypes.includes('float16');
    const bindings = [
      `const NIN: u32 = ${n}u;`,
      ...vars.map((_, k) => `@group(0) @binding(${k}) var<storage, read> in${k}: array<${wgslType(inTypes[k])}>;`),
      `@group(0) @binding(${n}) var<storage, read_write> out: array<${wgslType(outType)}>;`,
    ].join('\n');
    const loads = vars.map((v, k) => (inTypes[k] === 'float16' ? `let ${v} = f32(in${k}[idx[${k}]]);` : `let ${v} = in${k}[idx[${k}]];`)).join('\n  ');
    src =
      (half ? 'enable f16;\n' : '') +
      template
        .replace('//@BINDINGS', bindings)
        .replace('NIN_PLUS_1', String(n + 1))
        .replace('//@LOADS', loads)
        .replace('//@EXPR', outType === 'float16' ? `f16(${expr})` : expr);
    sources.set(key, src);
  }
  return src;
}

/** The result type of an elementwise op without an explicit one: float16 when every input is, else float32. */
export function promoteTypes(inputs: readonly Tensor[]): DType {
  return inputs.length > 0 && inputs.every((t) => t.dtype === 'float16') ? 'float16' : 'float32';
}

/** Strides that read `t` as if broadcast to `outShape` (0 along broadcast axes). */
export function broadcastStrides(t: Tensor, outShape: Shape): number[] {
  const r = outShape.length;
  const lead = r - t.ndim;
  return outShape.map((d, i) => {
    if (i < lead) return 0;
    const td = t.shape[i - lead];
    if (td === d) return td === 1 ? 0 : t.strides[i - lead];
    if (td === 1) return 0;
    throw new Error(`internal: cannot broadcast ${shapeStr(t.shape)} to ${shapeStr(outShape)}`);
  });
}

/**
 * Merges adjacent dimensions that every operand walks contiguously (stride[i] = stride[i+1]·shape[i+1] for all of
 * them, broadcast zeros included) and drops size-1 dimensions: a [1,64,256,64] + [1,64,1,1] bias add becomes a
 * [64, 16384] walk, so the kernel's per-element index arithmetic runs over 2 dimensions instead of 4.
 */
export function coalesceDims(shape: readonly number[], strideSets: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const dims: number[] = [];
  const out: number[][] = strideSets.map(() => []);
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    const last = dims.length - 1;
    if (last >= 0 && strideSets.every((st, k) => out[k][last] === st[i] * shape[i])) {
      dims[last] *= shape[i];
      strideSets.forEach((st, k) => (out[k][last] = st[i]));
    } else {
      dims.push(shape[i]);
      strideSets.forEach((st, k) => out[k].push(st[i]));
    }
  }
  return { shape: dims, strides: out };
}

export interface MapOptions {
  scalars?: readonly number[];
  /** Write into this view (shape = outShape) instead of a new tensor. */
  out?: Tensor;
  /** Element type of a new output (default: float16 when every input is float16, else float32). */
  dtype?: DType;
}

/**
 * Runs `out = expr(vars...)` elementwise. `vars` name the inputs inside `expr` (e.g. ['a', 'b'] with 'a * b');
 * scalars are `s0`, `s1`. Inputs broadcast to `outShape`.
 */
export function runMap(name: string, vars: readonly string[], expr: string, inputs: readonly Tensor[], outShape: Shape, opts: MapOptions = {}): Tensor {
  if (inputs.length !== vars.length || inputs.length > MAX_INPUTS) throw new Error(`internal: ${name} has ${inputs.length} inputs for ${vars.length} names`);
  if (outShape.length > MAX_RANK) throw new Error(`${name}: rank ${outShape.length} exceeds ${MAX_RANK}`);
  if (isMetaMode() || inputs.some((t) => t.isMeta)) return Tensor.meta(outShape, opts.dtype ?? promoteTypes(inputs));
  let device: GpuDevice | undefined;
  for (const t of inputs) {
    const d = t.device;
    if (device && d !== device) throw new Error(`${name}: inputs live on different GPU devices`);
    device = d;
    if (t.dtype === 'int32') throw new Error(`${name}: expected float tensors, got ${t.dtype} (shape ${shapeStr(t.shape)})`);
  }
  const out = opts.out ?? empty(outShape, opts.dtype ?? promoteTypes(inputs), device);
  if (opts.out && !sameShape(opts.out.shape, outShape)) throw new Error(`internal: ${name} out view has shape ${shapeStr(opts.out.shape)}, expected ${shapeStr(outShape)}`);
  const n = numel(outShape);
  if (n === 0) return out;
  const dev = out.device;
  const contig = out.isContiguous && inputs.every((t) => t.isContiguous && sameShape(t.shape, outShape));
  const u32 = new Uint32Array(4 + 8 + 8 + 4 + 32 + 4);
  const f32 = new Float32Array(u32.buffer);
  u32[0] = n;
  u32[2] = out.offset;
  inputs.forEach((t, k) => (u32[20 + k] = t.offset));
  if (!contig) {
    const walk = coalesceDims(outShape, [out.strides, ...inputs.map((t) => broadcastStrides(t, outShape))]);
    u32[1] = walk.shape.length;
    walk.shape.forEach((d, i) => (u32[4 + i] = d));
    walk.strides[0].forEach((st, i) => (u32[12 + i] = st));
    inputs.forEach((_, k) => walk.strides[k + 1].forEach((st, i) => (u32[24 + k * 8 + i] = st)));
  }
  (opts.scalars ?? []).forEach((s, i) => (f32[56 + i] = s));
  const source = mapSource(vars, expr, inputs.map((t) => t.dtype), out.dtype);
  const pipeline = dev.pipeline(name, source, { CONTIG: contig ? 1 : 0, WG: 256 });
  dev.dispatch({
    name,
    pipeline,
    buffers: [...inputs.map((t) => t.buffer), out.buffer],
    uniform: u32,
    workgroups: workgroups1d(dev, n, 256),
    bytes: n * [...inputs, out].reduce((b, t) => b + bytesPerElement(t.dtype), 0),
    flops: n,
  });
  return out;
}
