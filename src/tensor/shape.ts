/** Shapes, strides and broadcasting: plain functions on number arrays. */
export type Shape = readonly number[];

/** The most dimensions a tensor may have; kernels index through fixed-size arrays of this length. */
export const MAX_RANK = 8;

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function contiguousStrides(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function shapeStr(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** NumPy broadcasting of two or more shapes; throws naming the op and every shape when they don't broadcast. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (let i = 0; i < rank; i++) {
    for (const s of shapes) {
      const d = s[s.length - rank + i] ?? 1;
      if (d === 1) continue;
      if (out[i] !== 1 && out[i] !== d) {
        throw new Error(`${op}: shapes ${shapes.map(shapeStr).join(' and ')} cannot be broadcast together (axis ${i - rank}: ${out[i]} vs ${d})`);
      }
      out[i] = d;
    }
  }
  return out;
}

/** Normalises a possibly negative axis; throws naming the op if it is out of range. */
export function normAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new Error(`${op}: axis ${axis} is out of range for a tensor of rank ${rank}`);
  return a;
}

export function normAxes(op: string, axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : [...axes];
  const out = [...new Set(list.map((a) => normAxis(op, a, rank)))].sort((x, y) => x - y);
  return out;
}

export function assertShape(op: string, shape: Shape): void {
  if (shape.length > MAX_RANK) throw new Error(`${op}: rank ${shape.length} exceeds the supported maximum of ${MAX_RANK}`);
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`${op}: invalid shape ${shapeStr(shape)} (dimensions must be non-negative integers)`);
  }
}
