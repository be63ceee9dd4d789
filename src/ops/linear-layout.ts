import { noGrad, record } from '../autograd/graph.js';
import { gradOutput } from '../autograd/grad-slot.js';
import { Tensor, empty } from '../tensor/tensor.js';
import { numel, sameShape, shapeStr } from '../tensor/shape.js';
import { matmulInto } from './matmul.js';
import { sumInto } from './reduce.js';
import { reshape, transpose } from './shape-ops.js';

/** Where the features sit: 'channels' ([B, C, ...spatial], NCHW) or 'tokens' ([B, P, C]). */
export type FeatureLayout = 'channels' | 'tokens';

export interface PointwiseOptions {
  /** Layout of the input and of the output. */
  from: FeatureLayout;
  to: FeatureLayout;
  /** Spatial shape of a channels-first output made from tokens (default [P]). */
  spatial?: readonly number[];
  /** Added to the output in the same kernel: float32, of the output's shape. */
  residual?: Tensor | null;
}

/**
 * A per-position linear map between feature layouts, y = W·x + b at every position, in one matmul launch whatever
 * the layouts: a 1x1 convolution (channels → channels), a transformer's projection in from an NCHW map (channels →
 * tokens) and out back to it with its residual (tokens → channels). The kernels read either layout of x in place
 * (transposed operands), write y dense in its layout and add the bias (per column or per row) and the residual as
 * they store, so layout changes cost no copies. Backward: dX in x's layout in one launch (added into the
 * gradient already collected where there is one); dW = Σ_b G[b] · X[b]ᵀ, one launch per sample adding into the
 * first, with dB as the row sums of G in the same launches; dW and dB go to the parameters' gradient slots where an
 * optimizer keeps them flat. W is [out, in] (trailing size-1 dimensions, as a 1x1 conv weight's, allowed).
 * float32 only.
 */
export function pointwiseLinear(x: Tensor, w: Tensor, b: Tensor | null, opts: PointwiseOptions): Tensor {
  if (w.ndim < 2 || w.shape.slice(2).some((d) => d !== 1)) throw new Error(`pointwiseLinear: weight must be [out, in] (or [out, in, 1, 1]), got ${shapeStr(w.shape)}`);
  const [outF, inF] = w.shape;
  const B = x.shape[0];
  const fromCh = opts.from === 'channels';
  const toCh = opts.to === 'channels';
  if (x.ndim < (fromCh ? 2 : 3) || (fromCh ? x.shape[1] : x.shape[x.ndim - 1]) !== inF) {
    throw new Error(`pointwiseLinear: input ${shapeStr(x.shape)} has no ${inF} features in its ${opts.from} layout (weight ${shapeStr(w.shape)})`);
  }
  const spatialIn = fromCh ? x.shape.slice(2) : [x.shape[1]];
  const P = numel(spatialIn);
  const spatialOut = toCh ? (opts.spatial ?? (fromCh ? spatialIn : [P])) : [P];
  if (numel(spatialOut) !== P) throw new Error(`pointwiseLinear: spatial shape ${shapeStr(spatialOut)} does not hold ${P} positions`);
  const outShape = toCh ? [B, outF, ...spatialOut] : [B, P, outF];
  if (b && (b.ndim !== 1 || b.shape[0] !== outF)) throw new Error(`pointwiseLinear: bias must have shape [${outF}], got ${shapeStr(b.shape)}`);
  const res = opts.residual ?? null;
  if (res && !sameShape(res.shape, outShape)) throw new Error(`pointwiseLinear: residual ${shapeStr(res.shape)} does not match the output ${shapeStr(outShape)}`);
  for (const t of [x, w, b, res]) if (t && t.dtype !== 'float32') throw new Error(`pointwiseLinear: float32 operands only, got ${t.dtype} (shape ${shapeStr(t.shape)})`);

  // Views of a [B, ·, ·] operand as channels-first [B, F, P] or tokens [B, P, F] (transposed views, no copies).
  const temps: Tensor[] = [];
  const t = (v: Tensor) => (temps.push(v), v);
  /** `v` made from `orig` (e.g. by contiguous()), released after use when it is a new tensor. */
  const own = (v: Tensor, orig: Tensor) => (v === orig ? v : t(v));
  const asCh = (v: Tensor, F: number, layout: FeatureLayout) => (layout === 'channels' ? t(reshape(v, [B, F, P])) : t(transpose(t(reshape(v, [B, P, F])), 1, 2)));
  const asTok = (v: Tensor, F: number, layout: FeatureLayout) => (layout === 'tokens' ? t(reshape(v, [B, P, F])) : t(transpose(t(reshape(v, [B, F, P])), 1, 2)));
  const release = () => {
    for (const v of temps.splice(0)) v.dispose();
  };
  /** Sample n of a [B, R, C] view as an [R, C] view (any strides, no copy). */
  const sample = (v: Tensor, n: number) => t(v.view([v.shape[1], v.shape[2]], [v.strides[1], v.strides[2]], v.offset + n * v.strides[0], false));

  const y = empty(outShape);
  noGrad(() => {
    const w2 = t(reshape(w, [outF, inF]));
    const xd = own(x.contiguous(), x);
    const rd = res ? own(res.contiguous(), res) : undefined;
    const bd = b ? own(b.contiguous(), b) : undefined;
    if (toCh) {
      // Y[b] [out, P] = W · X[b] (X channels-first), bias per row.
      matmulInto(t(w2.expand([B, outF, inF])), asCh(xd, inF, opts.from), [B], t(reshape(y, [B, outF, P])), { bias: bd, biasPerRow: true, residual: rd && t(reshape(rd, [B, outF, P])) });
    } else {
      // Y[b] [P, out] = X[b] (tokens) · Wᵀ, bias per column.
      matmulInto(asTok(xd, inF, opts.from), t(t(transpose(w2, 0, 1)).expand([B, inF, outF])), [B], y, { bias: bd, residual: rd && t(reshape(rd, [B, P, outF])) });
    }
    release();
  });
  const inputs = [x, w, b, res];
  if (!inputs.some((v) => v?.requiresGrad)) return y;
  return record(
    'pointwiseLinear',
    y,
    inputs,
    (g, [xs, ws], acc) =>
      noGrad(() => {
        const gc = g.contiguous();
        const w2 = t(reshape(ws, [outF, inF]));
        const gCh = asCh(gc, outF, opts.to);
        let dx: Tensor | null = null;
        if (x.requiresGrad) {
          dx = acc?.[0] ?? empty(x.shape);
          if (fromCh) {
            // dX[b] [in, P] = Wᵀ · G[b] (channels-first).
            matmulInto(t(t(transpose(w2, 0, 1)).expand([B, inF, outF])), gCh, [B], t(reshape(dx, [B, inF, P])), { accumulate: Boolean(acc?.[0]) });
          } else {
            // dX[b] [P, in] = G[b] (tokens) · W.
            matmulInto(asTok(gc, outF, opts.to), t(w2.expand([B, outF, inF])), [B], t(reshape(dx, [B, P, inF])), { accumulate: Boolean(acc?.[0]) });
          }
        }
        let dw: Tensor | null = null;
        let db: Tensor | null = null;
        if (w.requiresGrad) {
          dw = gradOutput(w, w.shape);
          db = b?.requiresGrad ? gradOutput(b, b.shape) : null;
          const dw2 = t(reshape(dw, [outF, inF]));
          const xTok = asTok(own(xs.contiguous(), xs), inF, opts.from);
          for (let n = 0; n < B; n++) {
            // dW += G[n] [out, P] · X[n] (tokens) [P, in]; dB += the row sums of G[n].
            matmulInto(sample(gCh, n), sample(xTok, n), [], dw2, { accumulate: n > 0, rowsum: db ?? undefined });
          }
        } else if (b?.requiresGrad) {
          db = gradOutput(b, b.shape);
          sumInto(gCh, [0, 2], db);
        }
        release();
        if (gc !== g) gc.dispose();
        return [dx, dw, db, res?.requiresGrad ? g : null];
      }),
    [x, w],
  );
}
