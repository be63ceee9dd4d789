import template from '../../shaders/map.wgsl';
import type { GpuDevice } from '../../runtime/index.js';
import { Tensor, empty, isMetaMode } from '../tensor/tensor.js';
import { MAX_RANK, numel, sameShape, shapeStr, type Shape } from '../tensor/shape.js';
import { bytesPerElement, wgslType, type DType } from '../tensor/dtype.js';
import { workgroups1d } from './dispatch.js';

const MAX_INPUTS = 4;
const sources = new Map<string, string>();

/**
 * Fills the map template: one storage binding per named input and the output (arrays of vec4 where `vec4[k]` says
 * operand k, the output last, is read or written 4 aligned elements at a time), `apply` with the expression, and
 * the load/store helpers the template calls. float16 inputs are widened as they are loaded and a float16 output is
 * rounded once as it is stored: `expr` always computes in f32.
 */
function mapSource(vars: readonly string[], expr: string, inTypes: readonly DType[], outType: DType, vec4: readonly boolean[], accumulate: boolean): string {
  const key = `${vars.join(',')}|${inTypes.join(',')}|${outType}|${vec4.map(Number).join('')}|${accumulate ? 'acc' : ''}|${expr}`;
  let src = sources.get(key);
  if (!src) {
    const n = vars.length;
    const half = outType === 'float16' || inTypes.includes('float16');
    const elem = (t: DType, v: boolean) => (v ? `vec4<${wgslType(t)}>` : wgslType(t));
    const ot = wgslType(outType);
    // Element j of input k as f32, and the 4 elements j, j+s, j+2s, j+3s (a vec4 binding has s = 1, j aligned).
    const ld = (k: number, j: string) => (vec4[k] ? `f32(in${k}[${j} / 4u][${j} % 4u])` : `f32(in${k}[${j}])`);
    const load4 = vars.map((_, k) =>
      vec4[k]
        ? `fn ld4_${k}(j: u32, s: u32) -> vec4<f32> { return vec4<f32>(in${k}[j / 4u]); }`
        : `fn ld4_${k}(j: u32, s: u32) -> vec4<f32> {\n  if (s == 0u) { return vec4<f32>(${ld(k, 'j')}); }\n` +
          `  return vec4<f32>(${ld(k, 'j')}, ${ld(k, '(j + s)')}, ${ld(k, '(j + 2u * s)')}, ${ld(k, '(j + 3u * s)')});\n}`,
    );
    const cols = [0, 1, 2, 3].map((k) => (k < n ? `ld4_${k}(idx[${k}], s[${k}])` : 'vec4<f32>()'));
    const vals = [0, 1, 2, 3].map((k) => (k < n ? ld(k, `idx[${k}]`) : '0.0'));
    const outVec = vec4[n];
    // Accumulating maps add into what the output holds (out += expr): gradients summed in place.
    const plus = (old: string) => (accumulate ? `${old} + ` : '');
    const code = [
      `const NIN: u32 = ${n}u;`,
      ...vars.map((_, k) => `@group(0) @binding(${k}) var<storage, read> in${k}: array<${elem(inTypes[k], vec4[k])}>;`),
      `@group(0) @binding(${n}) var<storage, read_write> out: array<${elem(outType, outVec)}>;`,
      `fn apply(vals_: vec4<f32>, i: u32) -> f32 {`,
      `  let s0 = p.scalars.x;`,
      `  let s1 = p.scalars.y;`,
      ...vars.map((v, k) => `  let ${v} = vals_[${k}];`),
      `  return ${expr};`,
      `}`,
      `fn load1(idx: array<u32, 5>) -> vec4<f32> { return vec4<f32>(${vals.join(', ')}); }`,
      ...load4,
      `fn load4(idx: array<u32, 5>, s: array<u32, 5>) -> mat4x4<f32> { return mat4x4<f32>(${cols.join(', ')}); }`,
      outVec
        ? `fn store1(o: u32, v: f32) { out[o / 4u][o % 4u] = ${ot}(${plus('f32(out[o / 4u][o % 4u])')}v); }`
        : `fn store1(o: u32, v: f32) { out[o] = ${ot}(${plus('f32(out[o])')}v); }`,
      outVec
        ? `fn store4(o: u32, s: u32, v: vec4<f32>) { out[o / 4u] = vec4<${ot}>(${plus('vec4<f32>(out[o / 4u])')}v); }`
        : `fn store4(o: u32, s: u32, v: vec4<f32>) {\n  out[o] = ${ot}(${plus('f32(out[o])')}v.x);\n  out[o + s] = ${ot}(${plus('f32(out[o + s])')}v.y);\n` +
          `  out[o + 2u * s] = ${ot}(${plus('f32(out[o + 2u * s])')}v.z);\n  out[o + 3u * s] = ${ot}(${plus('f32(out[o + 3u * s])')}v.w);\n}`,
    ].join('\n');
    src = (half ? 'enable f16;\n' : '') + template.replace('//@BINDINGS', code).replace('NIN_PLUS_1', String(n + 1));
    sources.set(key, src);
  }
  return src;
}

/** The result type of an elementwise op without an explicit one: float16 when every input is, else float32. */
export function promoteTypes(inputs: readonly Tensor[]): DType {
  return inputs.length > 0 && inputs.every((t) => t.dtype === 'float16') ? 'float16' : 'float32';
}

/** Strides that read `t` as if broadcast to `outShape` (0 along broadcast axes). */
export function broadcastStrides(t: { readonly shape: Shape; readonly strides: readonly number[] }, outShape: Shape): number[] {
  const r = outShape.length;
  const lead = r - t.shape.length;
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

/** What the map kernel needs of an operand: its view of its buffer. */
export interface MapOperand {
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

/** How one map dispatch indexes its operands (see shaders/map.wgsl): MODE, WIDTH, RANK and the vec4 bindings. */
export interface MapPlan {
  mode: 'walk' | 'contig' | 'band';
  width: 1 | 4;
  /** Coalesced dimensions of a walk (0 otherwise). */
  rank: number;
  /** Per operand, the output last: bound as an array of vec4 (dense and 16-byte aligned along every 4-run). */
  vec4: boolean[];
  /** The uniform block: numel, out offset, shape and strides or band (div, mod); scalars are written by the caller. */
  params: Uint32Array;
}

const MODE = { walk: 0, contig: 1, band: 2 } as const;

function isDense(t: MapOperand): boolean {
  let expect = 1;
  for (let i = t.shape.length - 1; i >= 0; i--) {
    if (t.shape[i] !== 1 && t.strides[i] !== expect) return false;
    expect *= t.shape[i];
  }
  return true;
}

/**
 * (div, mod) such that element i of a dense output reads element (i / div) % mod of the input (div 0: the input is
 * one element; mod 0: no wrap), or null when the input's non-broadcast dimensions are not one dense band.
 */
export function bandOf(outShape: readonly number[], strides: readonly number[]): [number, number] | null {
  let first = -1;
  let last = -1;
  for (let d = 0; d < outShape.length; d++) {
    if (outShape[d] > 1 && strides[d] !== 0) {
      if (first < 0) first = d;
      last = d;
    }
  }
  if (first < 0) return [0, 0];
  let expect = 1;
  for (let d = last; d >= first; d--) {
    if (outShape[d] === 1) continue;
    if (strides[d] !== expect) return null;
    expect *= outShape[d];
  }
  let div = 1;
  for (let d = last + 1; d < outShape.length; d++) div *= outShape[d];
  let outer = 1;
  for (let d = 0; d < first; d++) outer *= outShape[d];
  return [div, outer === 1 ? 0 : expect];
}

/** Chooses the cheapest index mode for `out = f(inputs)` over `outShape` (pure: no GPU). */
export function planMap(outShape: readonly number[], out: MapOperand, inputs: readonly MapOperand[]): MapPlan {
  const n = numel(outShape);
  const params = new Uint32Array(4 + 8 + 8 + 4 + 32 + 4);
  params[0] = n;
  params[2] = out.offset;
  inputs.forEach((t, k) => (params[20 + k] = t.offset));
  const operands = [...inputs, out];
  const aligned = (t: MapOperand) => t.offset % 4 === 0;
  const outDense = isDense(out);
  if (outDense && inputs.every((t) => isDense(t) && sameShape(t.shape, outShape))) {
    const width = n % 4 === 0 ? 4 : 1;
    return { mode: 'contig', width, rank: 0, vec4: operands.map((t) => width === 4 && aligned(t)), params };
  }
  const strides = inputs.map((t) => broadcastStrides(t, outShape));
  const bands = outDense ? strides.map((st) => bandOf(outShape, st)) : [];
  if (outDense && bands.every((b) => b !== null)) {
    const bs = bands as [number, number][];
    bs.forEach(([div, mod], k) => ((params[24 + 8 * k] = div), (params[25 + 8 * k] = mod)));
    const splat = (div: number) => div % 4 === 0; // div 0 included
    const width = n % 4 === 0 && bs.every(([div, mod]) => splat(div) || (div === 1 && mod % 4 === 0)) ? 4 : 1;
    return { mode: 'band', width, rank: 0, vec4: [...inputs.map((t, k) => width === 4 && bs[k][0] === 1 && aligned(t)), width === 4 && aligned(out)], params };
  }
  const walk = coalesceDims(outShape, [out.strides, ...strides]);
  const rank = walk.shape.length;
  params[1] = rank;
  walk.shape.forEach((d, i) => (params[4 + i] = d));
  walk.strides[0].forEach((st, i) => (params[12 + i] = st));
  inputs.forEach((_, k) => walk.strides[k + 1].forEach((st, i) => (params[24 + k * 8 + i] = st)));
  const width = rank > 0 && walk.shape[rank - 1] % 4 === 0 ? 4 : 1;
  // Operand k (the output is walk.strides[0]) reads 4 aligned dense elements per run.
  const vec = (st: number[], t: MapOperand) => {
    if (width !== 4 || !aligned(t) || st[rank - 1] !== 1) return false;
    for (let d = 0; d < rank - 1; d++) if (st[d] % 4 !== 0) return false;
    return true;
  };
  return { mode: 'walk', width, rank, vec4: [...inputs.map((t, k) => vec(walk.strides[k + 1], t)), vec(walk.strides[0], out)], params };
}

export interface MapOptions {
  scalars?: readonly number[];
  /** Write into this view (shape = outShape) instead of a new tensor. */
  out?: Tensor;
  /** With `out`: add the result to what `out` holds (out += expr) instead of overwriting it. */
  accumulate?: boolean;
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
  const plan = planMap(outShape, out, inputs);
  const f32 = new Float32Array(plan.params.buffer);
  (opts.scalars ?? []).forEach((s, i) => (f32[56 + i] = s));
  if (opts.accumulate && !opts.out) throw new Error(`internal: ${name} accumulates but has no out view`);
  const source = mapSource(vars, expr, inputs.map((t) => t.dtype), out.dtype, plan.vec4, opts.accumulate ?? false);
  const pipeline = dev.pipeline(name, source, { MODE: MODE[plan.mode], WIDTH: plan.width, RANK: Math.max(plan.rank, 1), WG: 256 });
  dev.dispatch({
    name,
    pipeline,
    buffers: [...inputs.map((t) => t.binding), out.binding],
    uniform: plan.params,
    workgroups: workgroups1d(dev, n / plan.width, 256),
    bytes: n * [...inputs, out].reduce((b, t) => b + bytesPerElement(t.dtype), 0),
    flops: n,
  });
  return out;
}
