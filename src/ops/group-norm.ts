import forwardSource from '../../shaders/group-norm.wgsl';
import backwardSource from '../../shaders/group-norm-backward.wgsl';
import type { GpuDevice } from '../../runtime/index.js';
import { noGrad, record } from '../autograd/graph.js';
import { Tensor, empty } from '../tensor/tensor.js';
import { numel, shapeStr } from '../tensor/shape.js';
import { contiguous } from './copy.js';
import { gradOutput } from '../autograd/grad-slot.js';

export interface GroupNormOptions {
  /** Apply SiLU to the normalised output in the same kernel (diffusers' norm → SiLU pairs). */
  silu?: boolean;
}

const WG = 64;
/** The single-launch backward keeps samples × channels-per-group sums in workgroup memory (FUSED_MAX in the shader). */
const FUSED_BACKWARD_MAX = 256;
/** ...and is used while one workgroup per group has at most this many elements to walk (a few passes each). */
const FUSED_BACKWARD_ELEMENTS = 1 << 16;
/** Elements one workgroup reduces or writes: long rows split into chunks so they spread over workgroups. */
const CHUNK = 4096;

interface Geometry {
  N: number;
  C: number;
  G: number;
  cpg: number;
  S: number;
  /** Elements per row (n, g). */
  M: number;
}

function geometry(x: Tensor, groups: number, weight?: Tensor, bias?: Tensor): Geometry {
  if (x.ndim < 2) throw new Error(`groupNorm: input must be [N, C, ...], got ${shapeStr(x.shape)}`);
  const [N, C] = x.shape;
  if (!Number.isInteger(groups) || groups < 1) throw new Error(`groupNorm: groups must be a positive integer, got ${groups}`);
  if (C % groups) {
    throw new Error(`groupNorm: ${C} channels are not divisible by ${groups} groups (input ${shapeStr(x.shape)}); pick a group count that divides the channels`);
  }
  for (const [name, t] of [['weight', weight], ['bias', bias]] as const) {
    if (t && (t.ndim !== 1 || t.shape[0] !== C)) throw new Error(`groupNorm: ${name} must have shape [${C}] (one per channel), got ${shapeStr(t.shape)}`);
  }
  if (x.dtype !== 'float32') throw new Error(`groupNorm: expected a float32 input, got ${x.dtype}`);
  const S = numel(x.shape.slice(2));
  return { N, C, G: groups, cpg: C / groups, S, M: (C / groups) * S };
}

function chunking(n: number): { chunks: number; chunk: number } {
  const chunks = Math.max(1, Math.min(256, Math.ceil(n / CHUNK)));
  return { chunks, chunk: Math.ceil(n / chunks) };
}

/** Workgroup grid for `count` rows of `chunks` chunks: rows fold into z past the per-dimension limit. */
function grid(dev: GpuDevice, chunks: number, count: number): [number, number, number] {
  const max = dev.limits.maxComputeWorkgroupsPerDimension;
  const z = Math.ceil(count / max);
  return [chunks, Math.ceil(count / z), z];
}

function constants(weight: Tensor | undefined, bias: Tensor | undefined, silu: boolean): Record<string, number> {
  return { WG, HAS_W: weight ? 1 : 0, HAS_B: bias ? 1 : 0, SILU: silu ? 1 : 0 };
}

/** Forward: y, plus the per-(n, g) mean and rstd [N, G] saved for backward. No autograd. */
function groupNormForward(x: Tensor, g: Geometry, weight: Tensor | undefined, bias: Tensor | undefined, eps: number, silu: boolean) {
  const y = empty(x.shape);
  const mean = empty([g.N, g.G]);
  const rstd = empty([g.N, g.G]);
  const rows = g.N * g.G;
  if (rows === 0 || g.M === 0) return { y, mean, rstd };
  if (rows > x.device.limits.maxComputeWorkgroupsPerDimension) throw new Error(`groupNorm: ${rows} (sample, group) rows exceed the dispatch limit; split the batch`);
  const xd = contiguous(x);
  const dev = xd.device;
  const { chunks, chunk } = chunking(g.M);
  const u = new Uint32Array(12);
  u.set([rows, g.M, g.S, g.cpg, g.G, chunks, chunk, xd.offset]);
  new Float32Array(u.buffer)[8] = eps;
  const k = constants(weight, bias, silu);
  if (chunks === 1) {
    // Rows of one chunk: both passes in one launch (same arithmetic, same bits).
    dev.dispatch({
      name: silu ? 'group_norm_silu' : 'group_norm',
      pipeline: dev.pipeline('group_norm_fused', forwardSource, k, 'fused'),
      buffers: [xd.binding, weight?.binding ?? xd.binding, bias?.binding ?? xd.binding, y.binding, mean.binding, rstd.binding],
      uniform: u,
      workgroups: [1, rows],
      flops: (silu ? 9 : 5) * rows * g.M,
      bytes: 12 * rows * g.M,
    });
    if (xd !== x) xd.dispose();
    return { y, mean, rstd };
  }
  const part = empty([rows, chunks, 3]);
  dev.dispatch({
    name: 'group_norm_stats',
    pipeline: dev.pipeline('group_norm_stats', forwardSource, { WG }, 'stats'),
    buffers: [xd.binding, part.binding],
    uniform: u,
    workgroups: [chunks, rows],
    flops: 3 * rows * g.M,
    bytes: 8 * rows * g.M,
  });
  const dummy = xd.binding;
  dev.dispatch({
    name: silu ? 'group_norm_silu' : 'group_norm',
    pipeline: dev.pipeline('group_norm_apply', forwardSource, k, 'apply'),
    buffers: [xd.binding, part.binding, weight?.binding ?? dummy, bias?.binding ?? dummy, y.binding, mean.binding, rstd.binding],
    uniform: u,
    workgroups: [chunks, rows],
    flops: (silu ? 6 : 2) * rows * g.M,
    bytes: 8 * rows * g.M,
  });
  part.dispose();
  if (xd !== x) xd.dispose();
  return { y, mean, rstd };
}

/** Gradients of x, weight and bias (null where not wanted), from the saved mean and rstd. */
function groupNormBackward(
  x: Tensor,
  dzIn: Tensor,
  g: Geometry,
  weight: Tensor | undefined,
  bias: Tensor | undefined,
  mean: Tensor,
  rstd: Tensor,
  silu: boolean,
  want: readonly [boolean, boolean, boolean],
  leaves: { weight?: Tensor; bias?: Tensor } = {},
  accDx: Tensor | null = null,
): [Tensor | null, Tensor | null, Tensor | null] {
  const dev = x.device;
  const xd = contiguous(x);
  const dz = contiguous(dzIn);
  const { chunks, chunk } = chunking(g.S);
  const nc = g.N * g.C;
  const u = new Uint32Array(12);
  u.set([g.N, g.C, g.G, g.cpg, g.S, chunks, chunk, xd.offset, g.M, dz.offset]);
  const k = constants(weight, bias, silu);
  const dummy = xd.binding;
  const wb = weight?.binding ?? dummy;
  const bb = bias?.binding ?? dummy;
  if (chunks === 1 && chunking(g.M).chunks === 1 && g.N * g.cpg <= FUSED_BACKWARD_MAX && g.N <= WG && g.N * g.M <= FUSED_BACKWARD_ELEMENTS) {
    // Small inputs: one workgroup per group does the four passes for every sample, in one launch (same bits).
    // The parameter gradients go to their gradient slots where an optimizer keeps them flat (gradOutput).
    const dx = want[0] ? (accDx ?? empty(x.shape)) : empty([1]);
    const dw = want[1] && leaves.weight ? gradOutput(leaves.weight, [g.C]) : empty([g.C]);
    const db = want[2] && leaves.bias ? gradOutput(leaves.bias, [g.C]) : empty([g.C]);
    dev.dispatch({
      name: 'group_norm_backward',
      pipeline: dev.pipeline('group_norm_backward_fused', backwardSource, { ...k, ACC: want[0] && accDx ? 1 : 0 }, 'fused'),
      buffers: [xd.binding, dz.binding, wb, bb, mean.binding, rstd.binding, dx.binding, dw.binding, db.binding],
      uniform: u,
      workgroups: [g.G],
      flops: (silu ? 26 : 12) * nc * g.S,
      bytes: 20 * nc * g.S,
    });
    if (xd !== x) xd.dispose();
    if (dz !== dzIn) dz.dispose();
    const keep = (t: Tensor, wanted: boolean) => (wanted ? t : (t.dispose(), null));
    return [keep(dx, want[0]), keep(dw, want[1]), keep(db, want[2])];
  }
  const sums = empty([nc, chunks, 2]);
  dev.dispatch({
    name: 'group_norm_backward_reduce',
    pipeline: dev.pipeline('group_norm_backward_reduce', backwardSource, k, 'reduce'),
    buffers: [xd.binding, dz.binding, wb, bb, mean.binding, rstd.binding, sums.binding],
    uniform: u,
    workgroups: grid(dev, chunks, nc),
    flops: (silu ? 12 : 5) * nc * g.S,
    bytes: 8 * nc * g.S,
  });
  let dx: Tensor | null = null;
  let dw: Tensor | null = null;
  let db: Tensor | null = null;
  if (want[0]) {
    const rows = g.N * g.G;
    const coef = empty([rows, 2]);
    dev.dispatch({
      name: 'group_norm_backward_coef',
      pipeline: dev.pipeline('group_norm_backward_coef', backwardSource, k, 'coef'),
      buffers: [sums.binding, wb, coef.binding],
      uniform: u,
      workgroups: [Math.ceil(rows / WG)],
    });
    const fwd = chunking(g.M);
    const ud = u.slice();
    ud[5] = fwd.chunks;
    ud[6] = fwd.chunk;
    dx = empty(x.shape);
    dev.dispatch({
      name: 'group_norm_backward_dx',
      pipeline: dev.pipeline('group_norm_backward_dx', backwardSource, k, 'dx'),
      buffers: [xd.binding, dz.binding, wb, bb, mean.binding, rstd.binding, coef.binding, dx.binding],
      uniform: ud,
      workgroups: [fwd.chunks, rows],
      flops: (silu ? 14 : 7) * rows * g.M,
      bytes: 12 * rows * g.M,
    });
    coef.dispose();
  }
  if (want[1] || want[2]) {
    // Into the parameters' gradient slots where an optimizer keeps them flat (gradOutput).
    dw = want[1] && leaves.weight ? gradOutput(leaves.weight, [g.C]) : empty([g.C]);
    db = want[2] && leaves.bias ? gradOutput(leaves.bias, [g.C]) : empty([g.C]);
    dev.dispatch({
      name: 'group_norm_backward_params',
      pipeline: dev.pipeline('group_norm_backward_params', backwardSource, k, 'params'),
      buffers: [sums.binding, dw.binding, db.binding],
      uniform: u,
      workgroups: [Math.ceil(g.C / WG)],
    });
    if (!want[1]) {
      dw.dispose();
      dw = null;
    }
    if (!want[2]) {
      db.dispose();
      db = null;
    }
  }
  sums.dispose();
  if (xd !== x) xd.dispose();
  if (dz !== dzIn) dz.dispose();
  return [dx, dw, db];
}

/**
 * GroupNorm over [N, C, ...] (as torch.nn.functional.group_norm): statistics per sample and group of C/groups
 * channels, then the optional per-channel affine, and with `silu` the SiLU too, all in two fused passes.
 * Backward is fused as well (one reduction pass over x and the gradient, one pass writing dx).
 */
export function groupNorm(x: Tensor, groups: number, weight?: Tensor, bias?: Tensor, eps = 1e-5, opts: GroupNormOptions = {}): Tensor {
  const g = geometry(x, groups, weight, bias);
  const silu = opts.silu ?? false;
  const { y, mean, rstd } = noGrad(() => groupNormForward(x, g, weight, bias, eps, silu));
  const saved = [x, mean, rstd, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  const out = record(
    silu ? 'groupNormSilu' : 'groupNorm',
    y,
    [x, weight ?? null, bias ?? null],
    (dz, [xs, ms, rs, ...rest], acc) => {
      const ws = weight ? rest[0] : undefined;
      const bs = bias ? rest[weight ? 1 : 0] : undefined;
      return groupNormBackward(xs, dz, g, ws, bs, ms, rs, silu, [x.requiresGrad, Boolean(weight?.requiresGrad), Boolean(bias?.requiresGrad)], { weight, bias }, acc?.[0] ?? null);
    },
    saved,
  );
  mean.dispose();
  rstd.dispose();
  return out;
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    groupNorm(groups: number, weight?: Tensor, bias?: Tensor, eps?: number, opts?: GroupNormOptions): Tensor;
  }
}
Tensor.prototype.groupNorm = function (this: Tensor, groups: number, weight?: Tensor, bias?: Tensor, eps?: number, opts?: GroupNormOptions) {
  return groupNorm(this, groups, weight, bias, eps, opts);
};
