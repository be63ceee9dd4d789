import { isGradEnabled, noGrad, record } from '../autograd/graph.js';
import { gradOutput } from '../autograd/grad-slot.js';
import { Tensor, empty, isMetaMode } from '../tensor/tensor.js';
import { numel, sameShape, shapeStr } from '../tensor/shape.js';
import { matmul, matmulInto } from './matmul.js';
import { sumInto } from './reduce.js';
import { reshape, transpose } from './shape-ops.js';

export interface LinearOptions {
  /** Added to the output in the same kernel (a residual connection: y = x·Wᵀ + b + residual). */
  residual?: Tensor | null;
}

/** x as [rows, in] (a view when its leading dimensions merge, else a dense copy). */
function rows2d(x: Tensor, inF: number): Tensor {
  return reshape(x, [numel(x.shape.slice(0, -1)), inF]);
}

/**
 * y = x · Wᵀ + b (+ residual), as torch.nn.functional.linear with W [out, in] and x [..., in], in one matmul launch:
 * the kernel reads W in its stored layout (it is Bᵀ as the matmul kernels want it) and adds the bias and the
 * residual as it stores. Backward is two launches: dX = G · W (W read along its rows in place) and dW = Gᵀ · X
 * (Gᵀ and X read in place), which also sums G over the rows into dB; dW and dB go straight to the parameters'
 * gradient slots when an optimizer keeps them flat. float16 operands take the composed path (matmul, then add).
 */
export function linear(x: Tensor, w: Tensor, b?: Tensor | null, opts: LinearOptions = {}): Tensor {
  const inF = x.shape[x.ndim - 1];
  if (w.ndim !== 2 || w.shape[1] !== inF) throw new Error(`linear: weight ${shapeStr(w.shape)} does not take inputs of ${inF} features (input ${shapeStr(x.shape)})`);
  const outF = w.shape[0];
  const outShape = [...x.shape.slice(0, -1), outF];
  if (b && (b.ndim !== 1 || b.shape[0] !== outF)) throw new Error(`linear: bias must have shape [${outF}], got ${shapeStr(b.shape)}`);
  const res = opts.residual ?? null;
  if (res && !sameShape(res.shape, outShape)) throw new Error(`linear: residual ${shapeStr(res.shape)} does not match the output ${shapeStr(outShape)}`);
  if (isMetaMode() || x.isMeta || w.isMeta) return Tensor.meta(outShape);
  if ([x, w, b, res].some((t) => t && t.dtype !== 'float32')) {
    const wt = transpose(w, 0, 1);
    let y = matmul(x, wt);
    wt.dispose();
    for (const add of [b, res]) {
      if (!add) continue;
      const next = y.add(add);
      y.dispose();
      y = next;
    }
    return y;
  }
  const y = noGrad(() => {
    const out = empty(outShape);
    const temps: Tensor[] = [];
    const own = (t: Tensor, orig: Tensor | null) => (t !== orig && temps.push(t), t);
    const x2 = own(rows2d(x, inF), x);
    const wt = own(transpose(w, 0, 1), w);
    const y2 = own(reshape(out, [x2.shape[0], outF]), out);
    const bd = b ? own(b.contiguous(), b) : undefined;
    const rd = res ? own(reshape(own(res.contiguous(), res), y2.shape), res) : undefined;
    matmulInto(x2, wt, [], y2, { bias: bd, residual: rd });
    for (const t of temps) t.dispose();
    return out;
  });
  const needs = isGradEnabled() && [x, w, b, res].some((t) => t?.requiresGrad);
  if (!needs) return y;
  return record(
    'linear',
    y,
    [x, w, b ?? null, res],
    (g, [xs, ws], acc) => linearBackward(g, xs, ws, { x, w, b: b ?? null, res }, acc ?? []),
    [x, w],
  );
}

/** dX, dW, dB (and the residual's, g): into the walk's pending gradients `acc` where given (the kernels add). */
function linearBackward(g: Tensor, xs: Tensor, ws: Tensor, inputs: { x: Tensor; w: Tensor; b: Tensor | null; res: Tensor | null }, acc: readonly (Tensor | null)[]): (Tensor | null)[] {
  const { x, w, b, res } = inputs;
  const inF = xs.shape[xs.ndim - 1];
  const outF = ws.shape[0];
  const gc = g.contiguous();
  const g2 = rows2d(gc, outF);
  let dx: Tensor | null = null;
  if (x.requiresGrad) {
    dx = acc[0] ?? empty(x.shape);
    const dx2 = reshape(dx, [g2.shape[0], inF]);
    matmulInto(g2, ws, [], dx2, { accumulate: Boolean(acc[0]) });
    dx2.dispose();
  }
  let dw: Tensor | null = null;
  let db: Tensor | null = null;
  if (w.requiresGrad) {
    // One accumulate flag serves dW and dB: add into both pending gradients, or write both afresh.
    const wantB = Boolean(b?.requiresGrad);
    const accumulate = Boolean(acc[1] && (!wantB || acc[2]));
    dw = accumulate ? acc[1]! : gradOutput(w, w.shape);
    db = wantB ? (accumulate ? acc[2]! : gradOutput(b!, b!.shape)) : null;
    const x2 = rows2d(xs, inF);
    const gt = transpose(g2, 0, 1);
    matmulInto(gt, x2, [], dw, { rowsum: db ?? undefined, accumulate });
    for (const t of [x2, gt]) if (t !== xs) t.dispose();
  } else if (b?.requiresGrad) {
    db = gradOutput(b, b.shape);
    sumInto(g2, [0], db);
  }
  if (g2 !== gc) g2.dispose();
  if (gc !== g) gc.dispose();
  // The residual's gradient is g itself (the walk gives each use its own handle).
  return [dx, dw, db, res?.requiresGrad ? g : null];
}
