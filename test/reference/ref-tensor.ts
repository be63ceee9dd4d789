/**
 * The float64 reference tensor: a shape and row-major data, nothing else the ops need. Every reference op is a
 * plain loop over these, and records how to pull a gradient back through itself (a micrograd-sized tape), so
 * references compose: `matmulRef(transposeRef(a), b)` has a backward just as the engine expression does.
 */
export interface RefTensor {
  shape: number[];
  data: Float64Array;
  /** Set by reference ops: the inputs and the vector-Jacobian product of the op that made this tensor. */
  node?: RefNode;
}

export interface RefNode {
  op: string;
  inputs: RefTensor[];
  /** Gradient of each input given the gradient of the output (null: the input gets none). */
  vjp: (g: RefTensor) => (RefTensor | null)[];
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

export function ref(shape: readonly number[], data?: ArrayLike<number>): RefTensor {
  const n = numel(shape);
  const out = new Float64Array(n);
  if (data) {
    if (data.length !== n) throw new Error(`ref: ${data.length} values for shape [${shape}]`);
    out.set(data);
  }
  return { shape: [...shape], data: out };
}

export function zerosRef(shape: readonly number[]): RefTensor {
  return ref(shape);
}

export function fullRef(shape: readonly number[], v: number): RefTensor {
  return ref(shape, new Array(numel(shape)).fill(v));
}

/** Nested arrays (as `tensor()` takes them) to a RefTensor. */
export function refOf(nested: unknown): RefTensor {
  const shape: number[] = [];
  for (let cur = nested; Array.isArray(cur); cur = cur[0]) shape.push(cur.length);
  const flat = (shape.length ? (nested as unknown[]).flat(shape.length) : [nested]) as number[];
  return ref(shape, flat);
}

/** Row-major multi-index of flat index `i`. */
export function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}

/** Flat index of a multi-index. */
export function ravel(idx: readonly number[], shape: readonly number[]): number {
  let i = 0;
  for (let d = 0; d < shape.length; d++) i = i * shape[d] + idx[d];
  return i;
}

/** NumPy broadcasting: align trailing axes; sizes must be equal or 1. */
export function broadcastShape(...shapes: (readonly number[])[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const sd = s[s.length - rank + i] ?? 1;
      if (sd === 1) continue;
      if (d !== 1 && d !== sd) throw new Error(`broadcastShape: [${shapes.map((x) => `[${x}]`).join(' ')}] do not broadcast`);
      d = sd;
    }
    out.push(d);
  }
  return out;
}

/** Flat index into an input of shape `inShape` read at output multi-index `outIdx` under broadcasting. */
export function broadcastIndex(outIdx: readonly number[], inShape: readonly number[]): number {
  const lead = outIdx.length - inShape.length;
  let i = 0;
  for (let d = 0; d < inShape.length; d++) i = i * inShape[d] + (inShape[d] === 1 ? 0 : outIdx[lead + d]);
  return i;
}

/** Sums a gradient of the broadcast shape back onto `shape` (every output position adds into what it read). */
export function sumToShape(g: RefTensor, shape: readonly number[]): RefTensor {
  const out = zerosRef(shape);
  for (let i = 0; i < g.data.length; i++) out.data[broadcastIndex(unravel(i, g.shape), shape)] += g.data[i];
  return out;
}

/** Attaches the tape entry to `out` and returns it. */
export function recordRef(out: RefTensor, op: string, inputs: RefTensor[], vjp: RefNode['vjp']): RefTensor {
  out.node = { op, inputs, vjp };
  return out;
}

/** A copy of the data only (no tape): used for finite differences and as engine input values. */
export function detachRef(t: RefTensor): RefTensor {
  return ref(t.shape, t.data);
}

/**
 * Reverse-mode over the reference tape: gradients of `wrt` given `upstream` = d(loss)/d(out). Tensors of `wrt`
 * that `out` does not depend on get zeros.
 */
export function refGrads(out: RefTensor, upstream: RefTensor, wrt: readonly RefTensor[]): RefTensor[] {
  const order: RefTensor[] = [];
  const seen = new Set<RefTensor>();
  const visit = (t: RefTensor): void => {
    if (seen.has(t)) return;
    seen.add(t);
    for (const inp of t.node?.inputs ?? []) visit(inp);
    order.push(t);
  };
  visit(out);
  const grads = new Map<RefTensor, RefTensor>([[out, upstream]]);
  for (let k = order.length - 1; k >= 0; k--) {
    const t = order[k];
    const g = grads.get(t);
    if (!g || !t.node) continue;
    const inGrads = t.node.vjp(g);
    t.node.inputs.forEach((inp, j) => {
      const gi = inGrads[j];
      if (!gi) return;
      if (gi.shape.join() !== inp.shape.join()) {
        throw new Error(`reference ${t.node!.op}: vjp gave input ${j} shape [${gi.shape}], expected [${inp.shape}]`);
      }
      const prev = grads.get(inp);
      if (!prev) grads.set(inp, ref(gi.shape, gi.data));
      else for (let i = 0; i < gi.data.length; i++) prev.data[i] += gi.data[i];
    });
  }
  return wrt.map((w) => grads.get(w) ?? zerosRef(w.shape));
}

/** Normalises reduction axes (negative allowed; undefined = all), sorted and unique. */
export function normAxesRef(axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : [...axes];
  return [...new Set(list.map((a) => (a < 0 ? a + rank : a)))].sort((x, y) => x - y);
}
