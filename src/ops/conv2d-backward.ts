import { noGrad } from '../autograd/graph.js';
import { Tensor, empty } from '../tensor/tensor.js';
import type { DType } from '../tensor/dtype.js';
import { copyInto } from './copy.js';
import { cast } from './cast.js';
import { sum, sumInto } from './reduce.js';
import { gradOutput } from '../autograd/grad-slot.js';
import { zeros } from './creation.js';
import { packGrad, packInput, packWeight, packedChannels, runIgemm, runPortable, runWgrad, sumPartials } from './conv2d-kernels.js';
import { assertBindable, getConv2dTiles, planChunks, useIgemm, type ConvGeometry } from './conv2d-plan.js';

/** A dense copy starting at element 0 (the portable kernels index some operands without an offset). */
export function denseFrom0(t: Tensor): Tensor {
  if (t.isContiguous && t.offset === 0) return t;
  const c = empty(t.shape, t.dtype);
  copyInto(c, t);
  return c;
}

/**
 * dX = the stride-1 convolution of dY, zero-inserted by the stride and padded by (k-1)·d - p ("full"
 * correlation; a negative padding crops), with the transposed, 180°-rotated kernel. The pack does the zero
 * insertion and padding, so this is the forward igemm kernel again. With stride s only 1/s² of the packed
 * pixels are non-zero: the stride-2 gradients do 4x the necessary multiply-adds. `dtype` is dX's type.
 */
export function conv2dInputGrad(gy: Tensor, w: Tensor, g: ConvGeometry, dtype: DType = 'float32'): Tensor {
  return noGrad(() => {
    const dev = gy.device;
    const dx = empty([g.N, g.Cin, g.H, g.W], dtype);
    if (dx.size === 0) return dx;
    const G = g.groups, CinG = g.Cin / G, CoutG = g.Cout / G;
    const gd = gy.isContiguous ? gy : gy.contiguous();
    if (!useIgemm(dev, CinG, G)) {
      const g0 = denseFrom0(gd), w0 = denseFrom0(w);
      runPortable(dev, 'backward_data', g0.binding, 0, w0.binding, dx.binding, g, { a: g0.dtype, b: w0.dtype, out: dtype });
      for (const t of [g0, w0]) if (t !== gd && t !== w) t.dispose();
    } else {
      // The transposed kernel: Cout/G inputs, Cin/G outputs per group.
      const Wp = g.W + (g.KW - 1) * g.dw;
      const C4 = packedChannels(g.Cout, G);
      const rowsFor = (rc: number) => rc + (g.KH - 1) * g.dh;
      const chunks = planChunks('conv2d backward', dev, g.N, g.H, g.W, G, (rc) => 4 * G * rowsFor(rc) * Wp * C4);
      const wp = packWeight(dev, { src: w.binding, srcOff: w.offset, G, CoutG: CinG, CinG: CoutG, KH: g.KH, KW: g.KW, flip: true, srcCoutG: CoutG, srcCin: CinG, dtype: w.dtype });
      for (const c of chunks) {
        const Hp = rowsFor(c.rc);
        const xh = packInput(dev, {
          src: gd.binding, srcOff: gd.offset, C: g.Cout, H: g.OH, W: g.OW, G, n0: c.n0, nc: c.nc, Hp, Wp,
          y0: c.r0 + g.ph - (g.KH - 1) * g.dh, x0: g.pw - (g.KW - 1) * g.dw, sy: g.sh, sx: g.sw, dtype: gd.dtype,
        });
        runIgemm(dev, {
          xh, wp, bias: null, biasOff: 0, out: dx.binding, outOff: 0,
          M: c.rc * g.W, Wo: g.W, Hp, Wp, KH: g.KH, KW: g.KW, sy: 1, sx: 1, dy: g.dh, dx: g.dw,
          G, CoutG: CinG, Cout: g.Cin, CinG: CoutG, plane: g.H * g.W, pix0: c.r0 * g.W, n0: c.n0, nc: c.nc, xDtype: gd.dtype, outDtype: dtype,
        });
        dev.releaseBuffer(xh);
      }
      dev.releaseBuffer(wp.buffer);
    }
    if (gd !== gy) gd.dispose();
    return dx;
  });
}

/** Workgroups the weight-gradient kernel should have at least (two CPU cores, or a GPU's many units). */
const WGRAD_MIN_WORKGROUPS = 64;
/** Output pixels each split of the pixel reduction should keep, so splitting pays for its partial sums. */
const WGRAD_MIN_PIXELS_PER_SPLIT = 1024;

/**
 * dW[co, ci, ky, kx] = Σ over samples and output pixels of dY · X(shifted): an implicit GEMM over the packed
 * input and a channels-last copy of dY. The pixel reduction is split across workgroups when the weight alone
 * gives too few; the partial sums are then added with `sum`. `dtype` is dW's type (the subgroup kernel sums in
 * f32 and the result is converted once).
 */
export function conv2dWeightGrad(gy: Tensor, x: Tensor, g: ConvGeometry, wShape: readonly number[], dtype: DType = 'float32', leaf?: Tensor): Tensor {
  return noGrad(() => {
    // A float32 result is written straight into the leaf's gradient slot where it has one (gradOutput).
    const alloc = (shape: readonly number[]) => (leaf && dtype === 'float32' ? gradOutput(leaf, shape) : empty(shape));
    const dw = weightGradRaw(gy, x, g, wShape, dtype, alloc);
    if (dw.dtype === dtype) return dw;
    const out = cast(dw, dtype);
    dw.dispose();
    return out;
  });
}

/** dW as `dtype` on the portable kernels, as float32 on the subgroup ones. */
function weightGradRaw(gy: Tensor, x: Tensor, g: ConvGeometry, wShape: readonly number[], dtype: DType, alloc: (shape: readonly number[]) => Tensor): Tensor {
  const dev = gy.device;
  const G = g.groups, CinG = g.Cin / G, CoutG = g.Cout / G;
  const gd = gy.isContiguous ? gy : gy.contiguous();
  if (!useIgemm(dev, CoutG, G)) {
    const dw = dtype === 'float32' ? alloc(wShape) : empty(wShape, dtype);
    const g0 = denseFrom0(gd);
    runPortable(dev, 'backward_weight', x.binding, x.offset, g0.binding, dw.binding, g, { a: x.dtype, b: g0.dtype, out: dtype });
    if (g0 !== gd) g0.dispose();
    if (gd !== gy) gd.dispose();
    return dw;
  }
  if (g.N === 0 || g.OH * g.OW === 0) return zeros(wShape);
  const Wp = (g.OW - 1) * g.sw + (g.KW - 1) * g.dw + 1;
  const C4 = packedChannels(g.Cin, G);
  const CoP = Math.ceil(CoutG / 32) * 32;
  const rowsFor = (rc: number) => (rc - 1) * g.sh + (g.KH - 1) * g.dh + 1;
  // The packed dY of a chunk must fit too: budget for the larger of the two packs.
  const chunks = planChunks('conv2d backward', dev, g.N, g.OH, g.OW, G, (rc) => 4 * G * Math.max(rowsFor(rc) * Wp * C4, rc * g.OW * CoP));
  const tiles = Math.ceil((g.KH * g.KW * C4) / 4 / (8 * getConv2dTiles().wgradNR)) * (CoP / 32) * G;
  const splitsOf = (rows: number) => Math.max(1, Math.min(Math.ceil(WGRAD_MIN_WORKGROUPS / tiles), Math.floor((rows * g.OW) / WGRAD_MIN_PIXELS_PER_SPLIT)));
  const splits = chunks.map((c) => splitsOf(c.nc * c.rc));
  const parts = splits.reduce((a, s) => a + s, 0);
  const wsize = g.Cout * CinG * g.KH * g.KW;
  const partialShape = parts === 1 ? wShape : [parts, ...wShape];
  assertBindable('conv2d backward', 'weight-gradient partial sums', partialShape, 0, dev);
  const partial = parts === 1 ? alloc(wShape) : empty(partialShape);
  let slot = 0;
  for (const [i, c] of chunks.entries()) {
    const Hp = rowsFor(c.rc);
    const xh = packInput(dev, { src: x.binding, srcOff: x.offset, C: g.Cin, H: g.H, W: g.W, G, n0: c.n0, nc: c.nc, Hp, Wp, y0: c.r0 * g.sh - g.ph, x0: -g.pw, sy: 1, sx: 1, dtype: x.dtype });
    const gt = packGrad(dev, { src: gd.binding, srcOff: gd.offset, Cout: g.Cout, G, plane: g.OH * g.OW, pix0: c.r0 * g.OW, P: c.rc * g.OW, n0: c.n0, nc: c.nc, dtype: gd.dtype });
    runWgrad(dev, {
      xh, gt: gt.buffer, CoP: gt.CoP, out: partial.binding, outOff: slot * wsize, Hp, Wp, C4, KH: g.KH, KW: g.KW,
      sy: g.sh, sx: g.sw, dy: g.dh, dx: g.dw, G, Ho: c.rc, Wo: g.OW, nc: c.nc, CoutG, CinG, splits: splits[i], xDtype: x.dtype, gDtype: gd.dtype,
    });
    dev.releaseBuffer(xh);
    dev.releaseBuffer(gt.buffer);
    slot += splits[i];
  }
  if (gd !== gy) gd.dispose();
  if (parts === 1) return partial;
  const dw = alloc(wShape);
  sumPartials(dev, partial.binding, dw.binding, wsize, parts);
  partial.dispose();
  return dw;
}

/** dB = dY summed over samples and pixels, as `dtype` (into the leaf's gradient slot where it has one). */
export function biasGrad(gy: Tensor, dtype: DType = 'float32', leaf?: Tensor): Tensor {
  return noGrad(() => {
    if (leaf && dtype === 'float32' && gy.dtype === 'float32') {
      const db = gradOutput(leaf, [gy.shape[1]]);
      sumInto(gy, [0, 2, 3], db);
      return db;
    }
    const s = sum(gy, [0, 2, 3]);
    if (s.dtype === dtype) return s;
    const out = cast(s, dtype);
    s.dispose();
    return out;
  });
}
