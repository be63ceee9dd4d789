import source from '../../shaders/arena-map.wgsl';
import type { BufferBinding } from '../../runtime/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { empty } from '../tensor/tensor.js';
import { gradSlotOf } from '../autograd/grad-slot.js';
import { arenaOf, blockRuns, SLOT_ALIGN, type ParamArena } from './param-arena.js';

/**
 * Gradient-wide passes over an optimizer's flat storage (shaders/arena-map.wgsl): the global norm, the finite
 * check, in-place scaling and the EMA update cost one launch per arena chunk (plus one to combine partial
 * results) whatever the number of parameters. Each takes the parameters it is about (`params`), whose arena
 * slots are the active ones; the callers fall back to per-tensor ops for parameters that live outside an arena.
 */

/** Partial results per chunk of the norm and finite passes (workgroups walking the chunk's blocks). */
const PARTS = 64;

/**
 * The arena holding every parameter of `params` that has a gradient, with each such gradient in its slot; null
 * when there is none (no gradients), or they are not all in one arena's slots (then callers take the per-tensor
 * path).
 */
export function flatGradArena(params: readonly Tensor[]): ParamArena | null {
  let arena: ParamArena | null = null;
  for (const p of params) {
    if (!p.grad) continue;
    const a = arenaOf(p);
    if (!a || (arena && a !== arena) || !gradSlotOf(p)?.holds(p.grad)) return null;
    arena = a;
  }
  return arena;
}

/** Which of the arena's slots a pass covers: the given parameters that have a gradient. */
export function gradMask(arena: ParamArena, params: readonly Tensor[]): GPUBuffer[] {
  const on = new Set(params.filter((p) => p.grad));
  return arena.mask(arena.params.map((p) => on.has(p)));
}

function uniform(arena: ParamArena, chunk: number, partOff: number, mode: number, f: [number, number, number, number] = [0, 0, 0, 0], bpw = 1): Uint32Array {
  const u = new Uint32Array(12);
  const l = arena.layouts[chunk];
  u.set([l.slots.length, l.elements / SLOT_ALIGN, partOff, mode]);
  new Float32Array(u.buffer).set(f, 4);
  u[8] = bpw;
  return u;
}

function pipeline(arena: ParamArena, entry: string) {
  return arena.device.pipeline(`arena_${entry}`, source, { WG: SLOT_ALIGN, PARTS }, entry);
}

/** Per-chunk partial results of `entry` (sumsq or finite), combined into a 0-d tensor: Σ → sqrt, or min. */
function reduceGrads(arena: ParamArena, params: readonly Tensor[], entry: 'sumsq' | 'finite', mode: 1 | 2): Tensor {
  const dev = arena.device;
  const mask = gradMask(arena, params);
  const parts = empty([arena.layouts.length * PARTS]);
  arena.layouts.forEach((_, c) => {
    dev.dispatch({
      name: `arena_${entry}`,
      pipeline: pipeline(arena, entry),
      buffers: [arena.grads.buffers[c], arena.layouts[c].table, mask[c], parts.binding],
      uniform: uniform(arena, c, c * PARTS, 0),
      workgroups: [PARTS],
      bytes: 4 * arena.layouts[c].elements,
      flops: 2 * arena.layouts[c].elements,
    });
  });
  const out = empty([]);
  const u = new Uint32Array(12);
  u.set([0, parts.size, 0, mode]);
  dev.dispatch({
    name: 'arena_combine',
    pipeline: pipeline(arena, 'combine'),
    buffers: [parts.binding, out.binding],
    uniform: u,
    workgroups: [1],
  });
  parts.dispose();
  return out;
}

/** √(Σ g²) over the gradients of `params` (a 0-d tensor on the GPU). */
export function flatGradNorm(arena: ParamArena, params: readonly Tensor[]): Tensor {
  return reduceGrads(arena, params, 'sumsq', 1);
}

/** 1 when every gradient element of `params` is finite, else 0 (a 0-d tensor on the GPU). */
export function flatGradsFinite(arena: ParamArena, params: readonly Tensor[]): Tensor {
  return reduceGrads(arena, params, 'finite', 2);
}

/** g *= factor for the gradients of `params`, or g *= min(maxNorm / (norm + 1e-6), 1) with `norm` on the GPU. */
export function flatScaleGrads(arena: ParamArena, params: readonly Tensor[], by: { factor: number } | { norm: Tensor; maxNorm: number }): void {
  const dev = arena.device;
  const mask = gradMask(arena, params);
  const normBinding: BufferBinding = 'norm' in by ? by.norm.binding : arena.layouts[0].table;
  arena.layouts.forEach((l, c) => {
    const runs = blockRuns(dev, l.elements / SLOT_ALIGN);
    dev.dispatch({
      name: 'arena_scale',
      pipeline: pipeline(arena, 'scale'),
      buffers: [arena.grads.buffers[c], l.table, mask[c], normBinding],
      uniform: 'norm' in by ? uniform(arena, c, 0, 1, [0, by.maxNorm, 0, 0], runs.bpw) : uniform(arena, c, 0, 0, [by.factor, 0, 0, 0], runs.bpw),
      workgroups: runs.grid,
      bytes: 8 * l.elements,
      flops: l.elements,
    });
  });
}

/** shadow = shadow · decay + param · (1 − decay) over the slots of `params`. */
export function flatEma(arena: ParamArena, shadows: readonly GPUBuffer[], params: readonly Tensor[], decay: number): void {
  const dev = arena.device;
  const on = new Set(params);
  const mask = arena.mask(arena.params.map((p) => on.has(p)));
  arena.layouts.forEach((l, c) => {
    const runs = blockRuns(dev, l.elements / SLOT_ALIGN);
    dev.dispatch({
      name: 'arena_ema',
      pipeline: pipeline(arena, 'ema'),
      buffers: [shadows[c], arena.buffers[c], l.table, mask[c]],
      uniform: uniform(arena, c, 0, 0, [0, 0, decay, 1 - decay], runs.bpw),
      workgroups: runs.grid,
      bytes: 12 * l.elements,
      flops: 3 * l.elements,
    });
  });
}
