import source from '../../shaders/layer-norm.wgsl';
import { noGrad, record } from '../autograd/graph.js';
import { Tensor, empty } from '../tensor/tensor.js';
import { numel, sameShape, shapeStr } from '../tensor/shape.js';
import { contiguous } from './copy.js';
import { sumInto } from './reduce.js';
import { gradOutput } from '../autograd/grad-slot.js';
import { isCpuAdapter } from './adapter-kind.js';

const WG = 64;
/** Rows one invocation of the parameter-gradient kernel sums before writing a partial. */
const ROW_BLOCK = 64;
const SINGLE_PASS_ROWS = 2048;

function rowGrid(dev: Tensor['device'], rows: number): [number, number] {
  const max = dev.limits.maxComputeWorkgroupsPerDimension;
  const y = Math.ceil(rows / max);
  return [Math.ceil(rows / y), y];
}

/** Rows up to this long take the one-invocation-per-row kernels on CPU adapters. */
const SHORT_ROW = 128;

/**
 * The kernels for a pass: a workgroup per row, or on CPU adapters (lavapipe) for short rows an invocation per row.
 * Lavapipe's per-workgroup cost dominated the first: the shipped model's restore spent 45 ms per LayerNorm of
 * 16384 rows of 32.
 */
function rowKernel(dev: Tensor['device'], rows: number, M: number, entry: 'forward' | 'backward'): { entry: string; workgroups: [number, number] } {
  if (M <= SHORT_ROW && isCpuAdapter(dev)) {
    // Rows run along x first, wrapping into y past the dimension limit (the shader's row = gid.x + gid.y·nx·WG).
    const groups = Math.ceil(rows / WG);
    const [x, y] = rowGrid(dev, groups);
    return { entry: `${entry}_rows`, workgroups: [x, y] };
  }
  return { entry, workgroups: rowGrid(dev, rows) };
}

function checkArgs(x: Tensor, normalizedShape: readonly number[], weight?: Tensor, bias?: Tensor): { rows: number; M: number } {
  const k = normalizedShape.length;
  const tail = x.shape.slice(x.ndim - k);
  if (k === 0 || k > x.ndim || !sameShape(tail, normalizedShape)) {
    throw new Error(`layerNorm: normalized shape ${shapeStr(normalizedShape)} does not match the trailing dims of input ${shapeStr(x.shape)}`);
  }
  for (const [name, t] of [['weight', weight], ['bias', bias]] as const) {
    if (t && !sameShape(t.shape, normalizedShape)) throw new Error(`layerNorm: ${name} must have the normalized shape ${shapeStr(normalizedShape)}, got ${shapeStr(t.shape)}`);
  }
  if (x.dtype !== 'float32') throw new Error(`layerNorm: expected a float32 input, got ${x.dtype}`);
  const M = numel(normalizedShape);
  return { rows: M === 0 ? 0 : x.size / M, M };
}

function constants(weight?: Tensor, bias?: Tensor): Record<string, number> {
  return { WG, HAS_W: weight ? 1 : 0, HAS_B: bias ? 1 : 0 };
}

/** Gradients of x, weight and bias from the saved mean and rstd (null where not wanted). */
function layerNormBackward(
  x: Tensor,
  gIn: Tensor,
  rows: number,
  M: number,
  weight: Tensor | undefined,
  mean: Tensor,
  rstd: Tensor,
  want: readonly boolean[],
  paramShape: readonly number[],
  leaves: { weight?: Tensor; bias?: Tensor } = {},
  accDx: Tensor | null = null,
) {
  const dev = x.device;
  const xd = contiguous(x);
  const g = contiguous(gIn);
  // Up to SINGLE_PASS_ROWS rows the parameter gradients take one pass over all rows, written straight to their
  // destinations; longer inputs are split into row blocks for parallelism and their partial sums reduced after.
  const block = rows <= SINGLE_PASS_ROWS ? Math.max(rows, 1) : ROW_BLOCK;
  const blocks = Math.ceil(rows / block);
  const u = new Uint32Array([rows, M, xd.offset, g.offset, 0, block, 0, 0]);
  const k = constants(weight);
  const wb = weight?.binding ?? xd.binding;
  let dx: Tensor | null = null;
  if (want[0]) {
    // Added into the input's pending gradient where the walk has one (the kernel's ACC).
    dx = accDx ?? empty(x.shape);
    const kern = rowKernel(dev, rows, M, 'backward');
    dev.dispatch({
      name: 'layer_norm_backward',
      pipeline: dev.pipeline('layer_norm_backward', source, { ...k, ACC: accDx ? 1 : 0 }, kern.entry),
      buffers: [xd.binding, wb, g.binding, mean.binding, rstd.binding, dx.binding],
      uniform: u,
      workgroups: kern.workgroups,
      flops: 10 * rows * M,
      bytes: 16 * rows * M,
    });
  }
  let dw: Tensor | null = null;
  let db: Tensor | null = null;
  if (want[1] || want[2]) {
    if (blocks > dev.limits.maxComputeWorkgroupsPerDimension) throw new Error(`layerNorm backward: ${rows} rows are too many for one dispatch`);
    // The gradients go to the parameters' gradient slots where an optimizer keeps them flat (gradOutput).
    const dest = (leaf: Tensor | undefined) => (leaf ? gradOutput(leaf, paramShape) : empty(paramShape));
    dw = dest(want[1] ? leaves.weight : undefined);
    db = dest(want[2] ? leaves.bias : undefined);
    const [pw, pb] = blocks === 1 ? [dw, db] : [empty([blocks, M]), empty([blocks, M])];
    dev.dispatch({
      name: 'layer_norm_backward_params',
      pipeline: dev.pipeline('layer_norm_backward_params', source, k, 'params'),
      buffers: [xd.binding, g.binding, mean.binding, rstd.binding, pw.binding, pb.binding],
      uniform: u,
      workgroups: [Math.ceil(M / WG), blocks],
      flops: 4 * rows * M,
      bytes: 8 * rows * M,
    });
    if (blocks > 1) {
      sumInto(pw, [0], dw);
      sumInto(pb, [0], db);
      pw.dispose();
      pb.dispose();
    }
    if (!want[1]) {
      dw.dispose();
      dw = null;
    }
    if (!want[2]) {
      db.dispose();
      db = null;
    }
  }
  if (xd !== x) xd.dispose();
  if (g !== gIn) g.dispose();
  return [dx, dw, db];
}

/**
 * LayerNorm over the trailing `normalizedShape` dims (as torch.nn.functional.layer_norm), fused: one dispatch for
 * the forward (statistics and output) and one or two for the backward.
 */
export function layerNorm(x: Tensor, normalizedShape: readonly number[], weight?: Tensor, bias?: Tensor, eps = 1e-5): Tensor {
  const { rows, M } = checkArgs(x, normalizedShape, weight, bias);
  const lead = x.shape.slice(0, x.ndim - normalizedShape.length);
  const { y, mean, rstd } = noGrad(() => {
    const out = empty(x.shape);
    const mean = empty(lead);
    const rstd = empty(lead);
    if (rows === 0) return { y: out, mean, rstd };
    const xd = contiguous(x);
    const dev = xd.device;
    const u = new Uint32Array([rows, M, xd.offset, 0, 0, 0, 0, 0]);
    new Float32Array(u.buffer)[4] = eps;
    const kern = rowKernel(dev, rows, M, 'forward');
    dev.dispatch({
      name: 'layer_norm',
      pipeline: dev.pipeline('layer_norm', source, constants(weight, bias), kern.entry),
      buffers: [xd.binding, weight?.binding ?? xd.binding, bias?.binding ?? xd.binding, out.binding, mean.binding, rstd.binding],
      uniform: u,
      workgroups: kern.workgroups,
      flops: 7 * rows * M,
      bytes: 12 * rows * M,
    });
    if (xd !== x) xd.dispose();
    return { y: out, mean, rstd };
  });
  const out = record(
    'layerNorm',
    y,
    [x, weight ?? null, bias ?? null],
    (g, [xs, ms, rs, ws], acc) =>
      layerNormBackward(xs, g, rows, M, weight ? ws : undefined, ms, rs, [x.requiresGrad, Boolean(weight?.requiresGrad), Boolean(bias?.requiresGrad)], normalizedShape, { weight, bias }, acc?.[0] ?? null),
    [x, mean, rstd, ...(weight ? [weight] : [])],
  );
  mean.dispose();
  rstd.dispose();
  return out;
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    layerNorm(normalizedShape: readonly number[], weight?: Tensor, bias?: Tensor, eps?: number): Tensor;
  }
}
Tensor.prototype.layerNorm = function (this: Tensor, normalizedShape: readonly number[], weight?: Tensor, bias?: Tensor, eps?: number) {
  return layerNorm(this, normalizedShape, weight, bias, eps);
};
