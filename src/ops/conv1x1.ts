import { noGrad, record } from '../autograd/graph.js';
import { gradOutput } from '../autograd/grad-slot.js';
import { Tensor, empty } from '../tensor/tensor.js';
import { sameShape } from '../tensor/shape.js';
import { matmulInto } from './matmul.js';
import { sumInto } from './reduce.js';
import { reshape, slice, transpose } from './shape-ops.js';
import type { ConvGeometry } from './conv2d-plan.js';

/**
 * A 1x1, stride-1, unpadded, ungrouped float32 convolution as matmuls on NCHW as it is: y[n] = W [Cout, Cin] ·
 * x[n] [Cin, H·W] + b (per row) + residual, one launch (the kernels read x[n] along its pixels in place). Backward:
 * dX = Wᵀ · dY[n] for every sample in one launch, added into the gradient already collected where there is one;
 * dW = Σ_n dY[n] · x[n]ᵀ, one launch per sample adding into the first, with dB summed as dY's row sums in the same
 * launches. Gradients of W and b go to their optimizer slots where an optimizer keeps them flat.
 */
export function conv1x1(x: Tensor, w: Tensor, b: Tensor | null, g: ConvGeometry, residual: Tensor | null): Tensor {
  const P = g.H * g.W;
  const y = empty([g.N, g.Cout, g.OH, g.OW]);
  noGrad(() => {
    const temps: Tensor[] = [];
    const t = (v: Tensor) => (temps.push(v), v);
    const w2 = t(reshape(w, [g.Cout, g.Cin]));
    const x3 = t(reshape(x.contiguous(), [g.N, g.Cin, P]));
    const y3 = t(reshape(y, [g.N, g.Cout, P]));
    const r3 = residual ? t(reshape(t(residual.contiguous()), [g.N, g.Cout, P])) : undefined;
    const bd = b ? t(b.contiguous()) : undefined;
    matmulInto(t(w2.expand([g.N, g.Cout, g.Cin])), x3, [g.N], y3, { bias: bd, biasPerRow: true, residual: r3 });
    for (const v of temps) if (v !== x && v !== w && v !== b && v !== residual && v !== y) v.dispose();
  });
  const inputs = [x, w, b, residual];
  if (!inputs.some((v) => v?.requiresGrad)) return y;
  return record(
    'conv1x1',
    y,
    inputs,
    (gy, [xs, ws], acc) => {
      const temps: Tensor[] = [];
      const t = (v: Tensor) => (temps.push(v), v);
      const gc = gy.contiguous();
      const g3 = t(reshape(gc, [g.N, g.Cout, P]));
      let dx: Tensor | null = null;
      if (x.requiresGrad) {
        dx = acc?.[0] ?? empty(x.shape);
        const wt = t(transpose(t(reshape(ws, [g.Cout, g.Cin])), 0, 1));
        matmulInto(t(wt.expand([g.N, g.Cin, g.Cout])), g3, [g.N], t(reshape(dx, [g.N, g.Cin, P])), { accumulate: Boolean(acc?.[0]) });
      }
      let dw: Tensor | null = null;
      let db: Tensor | null = null;
      if (w.requiresGrad) {
        dw = gradOutput(w, w.shape);
        db = b?.requiresGrad ? gradOutput(b, b.shape) : null;
        const dw2 = t(reshape(dw, [g.Cout, g.Cin]));
        const x3 = t(reshape(xs.contiguous(), [g.N, g.Cin, P]));
        for (let n = 0; n < g.N; n++) {
          const gn = t(reshape(t(slice(g3, 0, n, n + 1)), [g.Cout, P]));
          const xn = t(transpose(t(reshape(t(slice(x3, 0, n, n + 1)), [g.Cin, P])), 0, 1));
          matmulInto(gn, xn, [], dw2, { accumulate: n > 0, rowsum: db ?? undefined });
        }
      } else if (b?.requiresGrad) {
        db = gradOutput(b, b.shape);
        sumInto(gc, [0, 2, 3], db);
      }
      const dres = residual?.requiresGrad ? gy : null;
      for (const v of temps) if (v !== gc && v !== dx && v !== dw && v !== xs && v !== ws) v.dispose();
      if (gc !== gy) gc.dispose();
      return [dx, dw, db, dres];
    },
    [x, w],
  );
}

/** Whether conv1x1 takes this residual in its kernel: float32, dense, of the output's shape. */
export function conv1x1Residual(r: Tensor | null, g: ConvGeometry): boolean {
  return !r || (r.dtype === 'float32' && sameShape(r.shape, [g.N, g.Cout, g.OH, g.OW]));
}
