import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/scope.js';
import { shapeStr } from '../tensor/shape.js';
import { noGrad } from '../autograd/graph.js';
import { zeros } from '../ops/creation.js';
import { concat } from '../ops/shape-ops.js';
import { conv2d } from '../ops/conv2d.js';
import { linear } from '../ops/linear.js';
import { Module, parameter, assignInPlace } from './module.js';
import { Linear, kaimingUniform } from './linear.js';
import { Conv2d } from './conv2d.js';

export interface LoRAOptions {
  /** Low-rank width r (default 4). */
  rank?: number;
  /** Output scale is alpha / rank (default alpha = rank, scale 1). */
  alpha?: number;
}

/** One low-rank factor: a single `weight` parameter, so names read `lora_A.<adapter>.weight` as in PEFT. */
export class LoRAFactor extends Module {
  weight: Tensor;
  constructor(weight: Tensor) {
    super();
    this.weight = parameter(weight);
  }
}

/**
 * The largest rank worth a LoRA factorisation of a weight of this shape, [out, in] or [out, in, kh, kw]:
 * min(out, in·kh·kw). B·A already spans every such weight there; loadLora refuses files above it, and applyCmbLora /
 * growCmbLora refuse to build such adapters (a layer alone does not, so small experiments may over-parameterise).
 */
export function loraMaxRank(weightShape: readonly number[]): number {
  return Math.min(weightShape[0]!, weightShape.slice(1).reduce((x, d) => x * d, 1));
}

interface Adapter {
  readonly rank: number;
  readonly alpha: number;
  readonly A: LoRAFactor;
  readonly B: LoRAFactor;
}

/**
 * LoRA as a reparameterisation of an existing layer, which is left untouched: y = base(x) + (α/r)·B(A(x)), one
 * (A, B) pair per named adapter and one of them active at a time. A starts kaiming-uniform and B at zero, so a new
 * adapter changes nothing until trained. The base's parameters keep their names (`to_q.weight`) and are frozen;
 * adapter parameters are `to_q.lora_A.<adapter>.weight` / `to_q.lora_B.<adapter>.weight` (PEFT's names), and only
 * the active adapter is in the forward graph, so only it receives gradients.
 */
export abstract class LoRALayer<Base extends Module = Module> extends Module {
  private readonly adapters = new Map<string, Adapter>();
  private active: string | null = null;
  private merged: string | null = null;

  constructor(readonly base: Base & { weight: Tensor; bias: Tensor | null }) {
    super();
    for (const [, p] of base.namedParameters()) p.requiresGrad = false;
  }

  /** The base's parameters appear as this layer's own, under the base's names. */
  override ownParameters(): [string, Tensor][] {
    return this.base.namedParameters();
  }
  override children(): [string, Module][] {
    const out: [string, Module][] = [];
    for (const [name, a] of this.adapters) out.push([`lora_A.${name}`, a.A], [`lora_B.${name}`, a.B]);
    return out;
  }

  get adapterNames(): string[] {
    return [...this.adapters.keys()];
  }
  get activeAdapter(): string | null {
    return this.active;
  }
  adapter(name: string): Adapter {
    const a = this.adapters.get(name);
    if (!a) throw new Error(`LoRA: no adapter '${name}' on this layer; it has ${this.adapterNames.map((n) => `'${n}'`).join(', ') || 'none'}`);
    return a;
  }
  scale(name: string): number {
    const a = this.adapter(name);
    return a.alpha / a.rank;
  }

  /** Adds adapter `name` (A kaiming-uniform, B zeros). */
  addAdapter(name: string, opts: LoRAOptions = {}): this {
    if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`LoRA: adapter name '${name}' must be letters, digits, '_' or '-' (it becomes part of parameter names)`);
    if (this.adapters.has(name)) throw new Error(`LoRA: adapter '${name}' already exists on this layer`);
    const rank = opts.rank ?? 4;
    if (!Number.isInteger(rank) || rank < 1) throw new Error(`LoRA: rank must be a positive integer, got ${rank}`);
    const [aShape, bShape, fanIn] = this.factorShapes(rank);
    const A = new LoRAFactor(kaimingUniform(aShape, fanIn));
    const B = new LoRAFactor(zeros(bShape));
    this.adapters.set(name, { rank, alpha: opts.alpha ?? rank, A, B });
    return this;
  }

  /**
   * Widens adapter `name` to `rank` without changing what it adds: A gains kaiming-uniform rows, B zero columns, and
   * α grows with r so that α/r stays. The new directions then train as a fresh adapter's would, from where the
   * trained ones left off (more capacity for trained weights without starting over).
   */
  growAdapter(name: string, rank: number): this {
    const a = this.adapter(name);
    if (!Number.isInteger(rank) || rank < a.rank) throw new Error(`LoRA: adapter '${name}' has rank ${a.rank}; it can grow to a larger integer rank, not ${rank}`);
    if (rank === a.rank) return this;
    if (this.merged === name) throw new Error(`LoRA: adapter '${name}' is merged into the base weight; unmerge it before growing it`);
    const [aShape, bShape, fanIn] = this.factorShapes(rank);
    const extra = rank - a.rank;
    const [A, B] = noGrad(() =>
      tidy(() => [
        concat([a.A.weight, kaimingUniform([extra, ...aShape.slice(1)], fanIn)], 0),
        concat([a.B.weight, zeros([bShape[0], extra, ...bShape.slice(2)])], 1),
      ]),
    );
    a.A.weight.dispose();
    a.B.weight.dispose();
    this.adapters.set(name, { rank, alpha: (a.alpha * rank) / a.rank, A: new LoRAFactor(A), B: new LoRAFactor(B) });
    return this;
  }

  /** Selects the adapter used by forward (null: the base layer alone). Unmerges a merged adapter first. */
  setAdapter(name: string | null): this {
    if (name !== null) this.adapter(name);
    if (this.merged !== null && this.merged !== name) this.unmerge();
    this.active = name;
    return this;
  }

  /** Folds the active adapter into the base weight (W += (α/r)·B·A), for inference without the extra matmuls. */
  merge(): this {
    if (this.active === null) throw new Error('LoRA merge: no active adapter (call setAdapter first)');
    if (this.merged === this.active) return this;
    if (this.merged !== null) this.unmerge();
    this.addDelta(this.active, 1);
    this.merged = this.active;
    return this;
  }
  /** Undoes merge(). Float rounding leaves the base weight within an ulp or so of the original. */
  unmerge(): this {
    if (this.merged === null) return this;
    this.addDelta(this.merged, -1);
    this.merged = null;
    return this;
  }
  get isMerged(): boolean {
    return this.merged !== null;
  }

  private addDelta(name: string, sign: 1 | -1): void {
    const a = this.adapter(name);
    const s = (sign * a.alpha) / a.rank;
    noGrad(() =>
      tidy(() => {
        const w = this.base.weight;
        const delta = a.B.weight.reshape([a.B.weight.shape[0], a.rank]).matmul(a.A.weight.reshape([a.rank, -1])).reshape(w.shape);
        assignInPlace(w, w.add(delta.mul(s)));
      }),
    );
  }

  /** base(x) + (α/r)·B(A(x)); a Linear base also adds `residual` (y's shape) in its kernel. */
  forward(x: Tensor, residual?: Tensor | null): Tensor {
    const base = this.base as unknown as { forward(x: Tensor, residual?: Tensor | null): Tensor };
    if (residual && !(this.base instanceof Linear)) throw new Error('LoRA: a residual is only fused into Linear layers');
    const y = residual ? base.forward(x, residual) : base.forward(x);
    if (this.active === null || this.merged === this.active) return y;
    const a = this.adapter(this.active);
    return tidy(() => y.add(this.lowRank(x, a.A.weight, a.B.weight).mul(a.alpha / a.rank)));
  }

  /** [A shape, B shape, fan-in of A]. */
  protected abstract factorShapes(rank: number): [number[], number[], number];
  /** B(A(x)) without scale. */
  protected abstract lowRank(x: Tensor, A: Tensor, B: Tensor): Tensor;
}

/** LoRA around an nn.Linear: A [r, in], B [out, r]. */
export class LoRALinear extends LoRALayer<Linear> {
  constructor(base: Linear, adapters: readonly string[] = [], opts: LoRAOptions = {}) {
    super(base);
    for (const n of adapters) this.addAdapter(n, opts);
  }
  protected factorShapes(rank: number): [number[], number[], number] {
    return [[rank, this.base.inFeatures], [this.base.outFeatures, rank], this.base.inFeatures];
  }
  protected lowRank(x: Tensor, A: Tensor, B: Tensor): Tensor {
    return tidy(() => linear(linear(x, A), B));
  }
}

/**
 * LoRA around an nn.Conv2d, as PEFT's: A is a conv with the base's kernel, stride and padding to r channels
 * ([r, in, kh, kw]), B a 1x1 conv back to the output width ([out, r, 1, 1]).
 */
export class LoRAConv2d extends LoRALayer<Conv2d> {
  constructor(base: Conv2d, adapters: readonly string[] = [], opts: LoRAOptions = {}) {
    super(base);
    const groups = base.groups;
    if (groups !== 1) throw new Error(`LoRAConv2d: grouped convolutions (groups = ${groups}) are not supported; weight ${shapeStr(base.weight.shape)}`);
    for (const n of adapters) this.addAdapter(n, opts);
  }
  protected factorShapes(rank: number): [number[], number[], number] {
    const [out, inC, kh, kw] = this.base.weight.shape;
    return [[rank, inC, kh, kw], [out, rank, 1, 1], inC * kh * kw];
  }
  protected lowRank(x: Tensor, A: Tensor, B: Tensor): Tensor {
    const o = this.base;
    const h = conv2d(x, A, undefined, { stride: o.stride, padding: o.padding, dilation: o.dilation, groups: 1 });
    return conv2d(h, B, undefined, { stride: 1, padding: 0, dilation: 1, groups: 1 });
  }
}

export function isLoRALayer(m: unknown): m is LoRALayer {
  return m instanceof LoRALayer;
}

/** Every LoRA layer under `root`, by dotted path. */
export function loraLayers(root: Module): [string, LoRALayer][] {
  return root.namedModules().filter((e): e is [string, LoRALayer] => isLoRALayer(e[1]));
}

/** Activates adapter `name` (or none) on every LoRA layer under `root`; every one must have it. */
export function setActiveAdapter(root: Module, name: string | null): void {
  const layers = loraLayers(root);
  if (name !== null) {
    const lacking = layers.filter(([, l]) => !l.adapterNames.includes(name)).map(([p]) => p);
    if (lacking.length) throw new Error(`setAdapter('${name}'): ${lacking.length} LoRA layers lack it (${lacking.slice(0, 4).join(', ')}${lacking.length > 4 ? ', …' : ''})`);
  }
  for (const [, l] of layers) l.setAdapter(name);
}

/** Replaces the sub-module at dotted `path` (e.g. `down_blocks.0.attentions.1.proj_in`, `to_out.0`). */
export function replaceModule(root: Module, path: string, next: Module): void {
  const parts = path.split('.');
  let obj: unknown = root;
  for (const p of parts.slice(0, -1)) {
    obj = (obj as Record<string, unknown>)[p];
    if (obj === undefined || obj === null) throw new Error(`replaceModule: no module at '${path}' (stopped at '${p}')`);
  }
  const last = parts[parts.length - 1];
  const holder = obj as Record<string, unknown>;
  if (!(holder[last] instanceof Module)) throw new Error(`replaceModule: '${path}' is not a module`);
  holder[last] = next;
}

/**
 * Wraps every Linear / Conv2d under `root` whose path `select` accepts with LoRA, adding `adapters`.
 * Returns the wrapped paths. Layers already wrapped get the missing adapters added instead.
 */
export function wrapWithLoRA(root: Module, select: (path: string, layer: Linear | Conv2d) => boolean, adapters: readonly string[], opts: LoRAOptions = {}): string[] {
  const targets = loraTargets(root, select);
  for (const [path, layer, wrapped] of targets) {
    if (wrapped) {
      for (const a of adapters) if (!wrapped.adapterNames.includes(a)) wrapped.addAdapter(a, opts);
    } else {
      replaceModule(root, path, layer instanceof Linear ? new LoRALinear(layer, adapters, opts) : new LoRAConv2d(layer, adapters, opts));
    }
  }
  return targets.map(([path]) => path);
}

/**
 * The layers under `root` that `select` picks, as wrapWithLoRA will adapt them: each Linear or Conv2d (for a layer
 * already wrapped, its base, with the wrapper as third element), the root itself excluded.
 */
export function loraTargets(root: Module, select: (path: string, layer: Linear | Conv2d) => boolean): [string, Linear | Conv2d, LoRALayer | null][] {
  const out: [string, Linear | Conv2d, LoRALayer | null][] = [];
  for (const [path, m] of root.namedModules()) {
    if (!path) continue;
    const wrapped = isLoRALayer(m) ? m : null;
    const layer = wrapped ? wrapped.base : m;
    if ((layer instanceof Linear || layer instanceof Conv2d) && select(path, layer)) out.push([path, layer, wrapped]);
  }
  return out;
}
