import { Tensor } from '../tensor/tensor.js';
import { keep } from '../tensor/scope.js';
import { shapeStr } from '../tensor/shape.js';
import { noGrad } from '../autograd/graph.js';
import { tensor } from '../ops/creation.js';

const PARAMETERS = new WeakSet<Tensor>();

/** Marks `t` as a trainable parameter (requiresGrad, kept out of tidy scopes). */
export function parameter(t: Tensor): Tensor {
  PARAMETERS.add(t);
  t.requiresGrad = true;
  return keep(t);
}

export function isParameter(t: unknown): t is Tensor {
  return t instanceof Tensor && PARAMETERS.has(t);
}

export interface LoadReport {
  missing: string[];
  unexpected: string[];
  mismatched: { key: string; expected: readonly number[]; got: readonly number[] }[];
}

export type StateSource = Record<string, Tensor | { shape: readonly number[]; data: Float32Array }>;

/**
 * Base class of every layer, as torch.nn.Module: parameters and sub-modules are discovered from the instance's
 * own properties in declaration order (arrays of modules are numbered), so a property named `down_blocks`
 * holding an array gives parameter names like `down_blocks.0.resnets.1.conv1.weight` — diffusers' names.
 */
export class Module {
  training = true;

  /** Child modules by name. Subclasses that hold children elsewhere (LoRA wrappers) override this. */
  children(): [string, Module][] {
    const out: [string, Module][] = [];
    for (const [k, v] of Object.entries(this)) {
      if (v instanceof Module) out.push([k, v]);
      else if (Array.isArray(v) && v.length && v.every((m) => m instanceof Module)) v.forEach((m, i) => out.push([`${k}.${i}`, m as Module]));
    }
    return out;
  }

  /** This module's own parameters (not its children's). */
  ownParameters(): [string, Tensor][] {
    return Object.entries(this).filter(([, v]) => isParameter(v)) as [string, Tensor][];
  }

  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = this.ownParameters().map(([k, t]) => [prefix + k, t]);
    for (const [name, child] of this.children()) out.push(...child.namedParameters(`${prefix}${name}.`));
    return out;
  }

  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix.replace(/\.$/, ''), this]];
    for (const [name, child] of this.children()) out.push(...child.namedModules(`${prefix}${name}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Parameters that will receive gradients (frozen ones excluded). */
  trainableParameters(): Tensor[] {
    return this.parameters().filter((t) => t.requiresGrad);
  }

  parameterCount(trainableOnly = false): number {
    return (trainableOnly ? this.trainableParameters() : this.parameters()).reduce((s, t) => s + t.size, 0);
  }

  /** Sets requiresGrad on every parameter (freeze = false). */
  setTrainable(trainable: boolean): this {
    for (const p of this.parameters()) p.requiresGrad = trainable;
    return this;
  }
  freeze(): this {
    return this.setTrainable(false);
  }

  train(on = true): this {
    for (const [, m] of this.namedModules()) m.training = on;
    return this;
  }
  eval(): this {
    return this.train(false);
  }

  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Names every parameter tensor with its dotted path (used in error messages). */
  nameParameters(): this {
    for (const [k, t] of this.namedParameters()) t.name = k;
    return this;
  }

  stateDict(): Record<string, Tensor> {
    return Object.fromEntries(this.namedParameters());
  }

  /**
   * Copies values into the parameters by name. Strict loading (default) throws listing missing, unexpected and
   * shape-mismatched keys before anything is changed; non-strict loads what matches and reports the rest.
   */
  loadStateDict(state: StateSource, opts: { strict?: boolean } = {}): LoadReport {
    const strict = opts.strict ?? true;
    const own = new Map(this.namedParameters());
    const report: LoadReport = { missing: [], unexpected: [], mismatched: [] };
    for (const k of own.keys()) if (!(k in state)) report.missing.push(k);
    for (const [k, v] of Object.entries(state)) {
      const p = own.get(k);
      if (!p) report.unexpected.push(k);
      else if (p.shape.length !== v.shape.length || p.shape.some((d, i) => d !== v.shape[i])) report.mismatched.push({ key: k, expected: p.shape, got: v.shape });
    }
    const bad = report.missing.length + report.unexpected.length + report.mismatched.length;
    if (strict && bad) throw new Error(describeLoadReport(report));
    noGrad(() => {
      for (const [k, v] of Object.entries(state)) {
        const p = own.get(k);
        if (!p || report.mismatched.some((m) => m.key === k)) continue;
        const src = v instanceof Tensor ? v : tensor(v.data, v.shape);
        assignInPlace(p, src);
        if (src !== v) src.dispose();
      }
    });
    return report;
  }
}

export function describeLoadReport(r: LoadReport, max = 8): string {
  const list = (xs: string[]) => xs.slice(0, max).join(', ') + (xs.length > max ? `, … (${xs.length} in all)` : '');
  const parts: string[] = [];
  if (r.missing.length) parts.push(`missing keys: ${list(r.missing)}`);
  if (r.unexpected.length) parts.push(`unexpected keys: ${list(r.unexpected)}`);
  if (r.mismatched.length) parts.push(`shape mismatches: ${list(r.mismatched.map((m) => `${m.key} expected ${shapeStr(m.expected)} got ${shapeStr(m.got)}`))}`);
  return `state dict does not match the model (is it for a different architecture or config?): ${parts.join('; ')}`;
}

/** Overwrites a parameter's values, keeping its identity (optimizers hold references to it). */
export function assignInPlace(p: Tensor, src: Tensor): void {
  if (!p.isContiguous) throw new Error(`internal: parameter ${p.name ?? ''} is not contiguous`);
  const enc = p.device.batch.copyEncoder();
  const dense = src.contiguous();
  enc.copyBufferToBuffer(dense.storage.buffer, dense.byteOffset, p.storage.buffer, p.byteOffset, p.size * 4);
  if (dense !== src) dense.dispose();
}

/** Runs child modules in order (names '0', '1', …). */
export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: (Module & { forward(x: Tensor): Tensor })[]) {
    super();
    this.layers = layers;
  }
  override children(): [string, Module][] {
    return this.layers.map((m, i) => [String(i), m]);
  }
  forward(x: Tensor): Tensor {
    let h = x;
    for (const m of this.layers) {
      const next = (m as unknown as { forward(x: Tensor): Tensor }).forward(h);
      if (h !== x) h.dispose();
      h = next;
    }
    return h;
  }
}
