import { noGrad } from '../autograd/graph.js';
import { Tensor, empty } from '../tensor/tensor.js';
import type { DType } from '../tensor/dtype.js';
import { copyInto } from './copy.js';
import { cast } from './cast.js';
import { sum, sumInto } from './reduce.js';
import { gradOutput } from '../autograd/grad-slot.js';
import type { GpuDevice } from '../../runtime/index.js';
import { ConvPacks, packedChannels, runIgemm, runPortable, runWgrad, sumPartials, type PackGradSpec, type PackInputSpec } from './conv2d-kernels.js';
import { assertBindable, getConv2dTiles, planChunks, useIgemm, type Chunk, type ConvGeometry } from './conv2d-plan.js';

/** A dense copy starting at element 0 (the portable kernels index some operands without an offset). */
export function denseFrom0(t: Tensor): Tensor {
  if (t.isContiguous && t.offset === 0) return t;
  const c = empty(t.shape, t.dtype);
  copyInto(c, t);
  return c;
}

/** A pack job queued for a pass: the batch that runs it and the job's index there. */
interface Queued {
  packs: ConvPacks;
  index: number;
}

/** The input-gradient pass on the igemm kernels (see dgradPlan). */
interface DgradPlan {
  Wp: number;
  rowsFor: (rc: number) => number;
  chunks: Chunk[];
}
function dgradPlan(dev: GpuDevice, g: ConvGeometry): DgradPlan {
  const Wp = g.W + (g.KW - 1) * g.dw;
  const C4 = packedChannels(g.Cout, g.groups);
  const rowsFor = (rc: number) => rc + (g.KH - 1) * g.dh;
  return { Wp, rowsFor, chunks: planChunks('conv2d backward', dev, g.N, g.H, g.W, g.groups, (rc) => 4 * g.groups * rowsFor(rc) * Wp * C4) };
}

/** The weight-gradient pass on the igemm kernels: packed sizes, chunks, and the pixel reduction's splits. */
interface WgradPlan {
  Wp: number;
  C4: number;
  rowsFor: (rc: number) => number;
  chunks: Chunk[];
  splits: number[];
  parts: number;
}
function wgradPlan(dev: GpuDevice, g: ConvGeometry): WgradPlan {
  const G = g.groups, CoutG = g.Cout / G;
  const Wp = (g.OW - 1) * g.sw + (g.KW - 1) * g.dw + 1;
  const C4 = packedChannels(g.Cin, G);
  const CoP = Math.ceil(CoutG / 32) * 32;
  const rowsFor = (rc: number) => (rc - 1) * g.sh + (g.KH - 1) * g.dh + 1;
  // The packed dY of a chunk must fit too: budget for the larger of the two packs.
  const chunks = planChunks('conv2d backward', dev, g.N, g.OH, g.OW, G, (rc) => 4 * G * Math.max(rowsFor(rc) * Wp * C4, rc * g.OW * CoP));
  const tiles = Math.ceil((g.KH * g.KW * C4) / 4 / (8 * getConv2dTiles().wgradNR)) * (CoP / 32) * G;
  const splitsOf = (rows: number) => Math.max(1, Math.min(Math.ceil(WGRAD_MIN_WORKGROUPS / tiles), Math.floor((rows * g.OW) / WGRAD_MIN_PIXELS_PER_SPLIT)));
  const splits = chunks.map((c) => splitsOf(c.nc * c.rc));
  return { Wp, C4, rowsFor, chunks, splits, parts: splits.reduce((a, v) => a + v, 0) };
}

/**
 * Gradients of a convolution: dX (into `accX`, the gradient already collected for x, where given), dW and dB (into
 * the parameters' gradient slots where an optimizer keeps them flat). On the igemm kernels, when each pass fits one
 * chunk, every pack both passes need (the flipped weights, dY zero-inserted and padded, the input, dY channels
 * last) runs in one launch, and the bias gradient comes out of the weight-gradient kernel: a backward of three
 * launches. Larger inputs take the chunked passes.
 */
export function conv2dGrads(
  gy: Tensor,
  x: Tensor,
  w: Tensor,
  g: ConvGeometry,
  want: { x: boolean; w: boolean; b: boolean },
  types: { x: DType; w: DType; b: DType },
  leaves: { w?: Tensor; b?: Tensor } = {},
  accX: Tensor | null = null,
): [Tensor | null, Tensor | null, Tensor | null] {
  return noGrad(() => {
    const dev = gy.device;
    const G = g.groups, CinG = g.Cin / G, CoutG = g.Cout / G;
    const gd = gy.isContiguous ? gy : gy.contiguous();
    const igX = want.x && useIgemm(dev, CinG, G) && g.N * g.H * g.W > 0;
    const igW = want.w && useIgemm(dev, CoutG, G) && g.N * g.OH * g.OW > 0;
    const dp = igX ? dgradPlan(dev, g) : null;
    const wp = igW ? wgradPlan(dev, g) : null;
    // One pack launch for both passes: single chunks, one element type.
    const shared =
      (dp || wp) && (!dp || dp.chunks.length === 1) && (!wp || wp.chunks.length === 1) && gd.dtype === w.dtype && gd.dtype === x.dtype ? new ConvPacks(dev, gd.dtype) : null;
    const pre: { w?: Queued & { CoP: number; C4: number }; dy?: Queued; x?: Queued; gt?: Queued & { CoP: number } } = {};
    if (shared && dp) {
      const c = dp.chunks[0];
      const wj = shared.weight({ src: w.binding, srcOff: w.offset, G, CoutG: CinG, CinG: CoutG, KH: g.KH, KW: g.KW, flip: true, srcCoutG: CoutG, srcCin: CinG, dtype: w.dtype });
      pre.w = { packs: shared, index: wj.index, CoP: wj.CoP, C4: wj.C4 };
      pre.dy = { packs: shared, index: shared.input(dyPackSpec(gd, g, c, dp)) };
    }
    if (shared && wp) {
      const c = wp.chunks[0];
      pre.x = { packs: shared, index: shared.input(xPackSpec(x, g, c, wp)) };
      const gj = shared.grad(gtPackSpec(gd, g, c));
      pre.gt = { packs: shared, index: gj.index, CoP: gj.CoP };
    }
    shared?.run();
    let dx: Tensor | null = null;
    if (want.x) dx = igX ? dgradIgemm(gd, w, g, dp!, types.x, accX, pre) : dgradPortable(gd, w, g, types.x);
    let dw: Tensor | null = null;
    let db: Tensor | null = null;
    if (want.w) {
      const alloc = (shape: readonly number[]) => (leaves.w && types.w === 'float32' ? gradOutput(leaves.w, shape) : empty(shape));
      // The bias gradient rides along an unsplit weight-gradient kernel.
      const fuseB = want.b && igW && wp!.parts === 1 && types.b === 'float32' && gd.dtype === 'float32';
      if (fuseB) db = leaves.b ? gradOutput(leaves.b, [g.Cout]) : empty([g.Cout]);
      const raw = igW ? wgradIgemm(gd, x, g, w.shape, wp!, alloc, db, pre) : wgradPortable(gd, x, g, w.shape, types.w, alloc);
      dw = raw.dtype === types.w ? raw : castOwned(raw, types.w);
    }
    if (want.b && !db) db = biasGrad(gd, types.b, leaves.b);
    shared?.release();
    if (gd !== gy) gd.dispose();
    return [dx, dw, db];
  });
}

function castOwned(t: Tensor, dtype: DType): Tensor {
  const out = cast(t, dtype);
  t.dispose();
  return out;
}

function dyPackSpec(gd: Tensor, g: ConvGeometry, c: Chunk, dp: DgradPlan): PackInputSpec {
  return {
    src: gd.binding, srcOff: gd.offset, C: g.Cout, H: g.OH, W: g.OW, G: g.groups, n0: c.n0, nc: c.nc, Hp: dp.rowsFor(c.rc), Wp: dp.Wp,
    y0: c.r0 + g.ph - (g.KH - 1) * g.dh, x0: g.pw - (g.KW - 1) * g.dw, sy: g.sh, sx: g.sw, dtype: gd.dtype,
  };
}
function xPackSpec(x: Tensor, g: ConvGeometry, c: Chunk, wp: WgradPlan): PackInputSpec {
  return { src: x.binding, srcOff: x.offset, C: g.Cin, H: g.H, W: g.W, G: g.groups, n0: c.n0, nc: c.nc, Hp: wp.rowsFor(c.rc), Wp: wp.Wp, y0: c.r0 * g.sh - g.ph, x0: -g.pw, sy: 1, sx: 1, dtype: x.dtype };
}
function gtPackSpec(gd: Tensor, g: ConvGeometry, c: Chunk): PackGradSpec {
  return { src: gd.binding, srcOff: gd.offset, Cout: g.Cout, G: g.groups, plane: g.OH * g.OW, pix0: c.r0 * g.OW, P: c.rc * g.OW, n0: c.n0, nc: c.nc, dtype: gd.dtype };
}

/**
 * dX = the stride-1 convolution of dY, zero-inserted by the stride and padded by (k-1)·d - p ("full"
 * correlation; a negative padding crops), with the transposed, 180°-rotated kernel. The pack does the zero
 * insertion and padding, so this is the forward igemm kernel again. With stride s only 1/s² of the packed
 * pixels are non-zero: the stride-2 gradients do 4x the necessary multiply-adds. `dtype` is dX's type; with `acc`
 * the kernel adds into it.
 */
function dgradIgemm(gd: Tensor, w: Tensor, g: ConvGeometry, dp: DgradPlan, dtype: DType, acc: Tensor | null, pre: { w?: Queued & { CoP: number; C4: number }; dy?: Queued }): Tensor {
  const dev = gd.device;
  const G = g.groups, CinG = g.Cin / G, CoutG = g.Cout / G;
  const accumulate = Boolean(acc && acc.dtype === dtype);
  const dx = accumulate ? acc! : empty([g.N, g.Cin, g.H, g.W], dtype);
  let wq = pre.w;
  let own: ConvPacks | null = null;
  if (!wq) {
    own = new ConvPacks(dev, w.dtype);
    const wj = own.weight({ src: w.binding, srcOff: w.offset, G, CoutG: CinG, CinG: CoutG, KH: g.KH, KW: g.KW, flip: true, srcCoutG: CoutG, srcCin: CinG, dtype: w.dtype });
    own.run();
    wq = { packs: own, index: wj.index, CoP: wj.CoP, C4: wj.C4 };
  }
  const wpk = { buffer: wq.packs.region(wq.index), CoP: wq.CoP, C4: wq.C4, dtype: w.dtype };
  for (const c of dp.chunks) {
    let yq = pre.dy;
    let ownY: ConvPacks | null = null;
    if (!yq) {
      ownY = new ConvPacks(dev, gd.dtype);
      yq = { packs: ownY, index: ownY.input(dyPackSpec(gd, g, c, dp)) };
      ownY.run();
    }
    runIgemm(dev, {
      xh: yq.packs.region(yq.index), wp: wpk, bias: null, biasOff: 0, out: dx.binding, outOff: 0,
      M: c.rc * g.W, Wo: g.W, Hp: dp.rowsFor(c.rc), Wp: dp.Wp, KH: g.KH, KW: g.KW, sy: 1, sx: 1, dy: g.dh, dx: g.dw,
      G, CoutG: CinG, Cout: g.Cin, CinG: CoutG, plane: g.H * g.W, pix0: c.r0 * g.W, n0: c.n0, nc: c.nc, xDtype: gd.dtype, outDtype: dtype, accumulate,
    });
    ownY?.release();
  }
  own?.release();
  return dx;
}

function dgradPortable(gd: Tensor, w: Tensor, g: ConvGeometry, dtype: DType): Tensor {
  const dx = empty([g.N, g.Cin, g.H, g.W], dtype);
  if (dx.size === 0) return dx;
  const g0 = denseFrom0(gd), w0 = denseFrom0(w);
  runPortable(gd.device, 'backward_data', g0.binding, 0, w0.binding, dx.binding, g, { a: g0.dtype, b: w0.dtype, out: dtype });
  for (const t of [g0, w0]) if (t !== gd && t !== w) t.dispose();
  return dx;
}

/** Workgroups the weight-gradient kernel should have at least (two CPU cores, or a GPU's many units). */
const WGRAD_MIN_WORKGROUPS = 64;
/** Output pixels each split of the pixel reduction should keep, so splitting pays for its partial sums. */
const WGRAD_MIN_PIXELS_PER_SPLIT = 1024;

/**
 * dW[co, ci, ky, kx] = Σ over samples and output pixels of dY · X(shifted): an implicit GEMM over the packed
 * input and a channels-last copy of dY, float32. The pixel reduction is split across workgroups when the weight
 * alone gives too few; the partial sums are then added. `db`, for an unsplit reduction, receives Σ dY too.
 */
function wgradIgemm(
  gd: Tensor,
  x: Tensor,
  g: ConvGeometry,
  wShape: readonly number[],
  wp: WgradPlan,
  alloc: (shape: readonly number[]) => Tensor,
  db: Tensor | null,
  pre: { x?: Queued; gt?: Queued & { CoP: number } },
): Tensor {
  const dev = gd.device;
  const G = g.groups, CinG = g.Cin / G, CoutG = g.Cout / G;
  const wsize = g.Cout * CinG * g.KH * g.KW;
  const partialShape = wp.parts === 1 ? wShape : [wp.parts, ...wShape];
  assertBindable('conv2d backward', 'weight-gradient partial sums', partialShape, 0, dev);
  const partial = wp.parts === 1 ? alloc(wShape) : empty(partialShape);
  let slot = 0;
  for (const [i, c] of wp.chunks.entries()) {
    let xq = pre.x, gq = pre.gt;
    let own: ConvPacks[] = [];
    if (!xq || !gq) {
      const same = x.dtype === gd.dtype;
      const px = new ConvPacks(dev, x.dtype);
      const pg = same ? px : new ConvPacks(dev, gd.dtype);
      xq = { packs: px, index: px.input(xPackSpec(x, g, c, wp)) };
      const gj = pg.grad(gtPackSpec(gd, g, c));
      gq = { packs: pg, index: gj.index, CoP: gj.CoP };
      own = same ? [px] : [px, pg];
      for (const b of own) b.run();
    }
    runWgrad(dev, {
      xh: xq.packs.region(xq.index), gt: gq.packs.region(gq.index), CoP: gq.CoP, out: partial.binding, outOff: slot * wsize, Hp: wp.rowsFor(c.rc), Wp: wp.Wp, C4: wp.C4,
      KH: g.KH, KW: g.KW, sy: g.sh, sx: g.sw, dy: g.dh, dx: g.dw, G, Ho: c.rc, Wo: g.OW, nc: c.nc, CoutG, CinG, splits: wp.splits[i], xDtype: x.dtype, gDtype: gd.dtype,
      db: db ? db.binding : undefined,
    });
    for (const b of own) b.release();
    slot += wp.splits[i];
  }
  if (wp.parts === 1) return partial;
  const dw = alloc(wShape);
  sumPartials(dev, partial.binding, dw.binding, wsize, wp.parts);
  partial.dispose();
  return dw;
}

function wgradPortable(gd: Tensor, x: Tensor, g: ConvGeometry, wShape: readonly number[], dtype: DType, alloc: (shape: readonly number[]) => Tensor): Tensor {
  const dw = dtype === 'float32' ? alloc(wShape) : empty(wShape, dtype);
  if (g.N === 0 || g.OH * g.OW === 0) {
    dw.device.upload(dw.storage.buffer, new Float32Array(dw.size), dw.byteOffset);
    return dw;
  }
  const g0 = denseFrom0(gd);
  runPortable(gd.device, 'backward_weight', x.binding, x.offset, g0.binding, dw.binding, g, { a: x.dtype, b: g0.dtype, out: dtype });
  if (g0 !== gd) g0.dispose();
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
