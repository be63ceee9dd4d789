import { isGradEnabled, noGrad, record } from '../autograd/graph.js';
import { Tensor, empty, isMetaMode } from '../tensor/tensor.js';
import { sameShape, shapeStr } from '../tensor/shape.js';
import { tidy } from '../tensor/scope.js';
import type { DType } from '../tensor/dtype.js';
import { matmul } from './matmul.js';
import { cast } from './cast.js';
import { runMap } from './map-kernel.js';
import { conv2dGrads, denseFrom0 } from './conv2d-backward.js';
import { pointwiseLinear } from './linear-layout.js';
import { ConvPacks, packedChannels, runIgemm, runPortable } from './conv2d-kernels.js';
import { assertBindable, getConv2dPath, planChunks, useIgemm, type ConvGeometry } from './conv2d-plan.js';
import { broadcastStrides } from './map-kernel.js';
import { sumToShape } from './binary.js';
import type { BufferBinding } from '../../runtime/index.js';
export { setConv2dPath, getConv2dPath, setConv2dTiles, getConv2dTiles, type Conv2dPath, type Conv2dTiles } from './conv2d-plan.js';

export interface Conv2dOptions {
  stride?: number | readonly [number, number];
  padding?: number | readonly [number, number];
  dilation?: number | readonly [number, number];
  groups?: number;
  /** Element type of the output (default: float16 when input and weight are float16, else float32). */
  dtype?: DType;
  /**
   * Added to the output as it is stored (a residual connection, or a per-sample per-channel term such as a ResNet
   * block's timestep embedding): float32, of the output's shape or [N, Cout, 1, 1] (any view whose spatial part is
   * dense or broadcast). Paths that cannot add it in the kernel add it after.
   */
  residual?: Tensor | null;
}

const pair = (v: number | readonly [number, number] | undefined, def: number): [number, number] => (v === undefined ? [def, def] : typeof v === 'number' ? [v, v] : [v[0], v[1]]);

export function conv2dGeometry(x: Tensor, w: Tensor, opts: Conv2dOptions): ConvGeometry {
  if (x.ndim !== 4) throw new Error(`conv2d: input must be [N, C, H, W], got shape ${shapeStr(x.shape)}`);
  if (w.ndim !== 4) throw new Error(`conv2d: weight must be [out, in/groups, kh, kw], got shape ${shapeStr(w.shape)}`);
  const [N, Cin, H, W] = x.shape;
  const [Cout, cinG, KH, KW] = w.shape;
  const groups = opts.groups ?? 1;
  const [sh, sw] = pair(opts.stride, 1), [ph, pw] = pair(opts.padding, 0), [dh, dw] = pair(opts.dilation, 1);
  if (!Number.isInteger(groups) || groups < 1 || Cin % groups || Cout % groups) {
    throw new Error(`conv2d: groups=${groups} must divide both input channels (${Cin}, shape ${shapeStr(x.shape)}) and output channels (${Cout}, weight ${shapeStr(w.shape)})`);
  }
  if (cinG * groups !== Cin) {
    throw new Error(
      `conv2d: weight expects ${cinG * groups} input channels but input has ${Cin} (shape ${shapeStr(x.shape)}, weight ${shapeStr(w.shape)}` +
        `${groups > 1 ? `, groups=${groups}` : ''}); the weight's second dimension must be input channels / groups`,
    );
  }
  if ([sh, sw, dh, dw].some((v) => !Number.isInteger(v) || v < 1) || [ph, pw].some((v) => !Number.isInteger(v) || v < 0)) {
    throw new Error(`conv2d: stride and dilation must be positive integers and padding non-negative (got stride ${sh},${sw} padding ${ph},${pw} dilation ${dh},${dw})`);
  }
  const ekh = (KH - 1) * dh + 1, ekw = (KW - 1) * dw + 1;
  if (ekh > H + 2 * ph || ekw > W + 2 * pw) {
    throw new Error(
      `conv2d: kernel ${KH}x${KW} (dilation ${dh},${dw}, extent ${ekh}x${ekw}) is larger than the padded input ${H + 2 * ph}x${W + 2 * pw} ` +
        `(shape ${shapeStr(x.shape)}, padding ${ph},${pw}); pad more or use a smaller kernel`,
    );
  }
  const OH = Math.floor((H + 2 * ph - ekh) / sh) + 1, OW = Math.floor((W + 2 * pw - ekw) / sw) + 1;
  return { N, Cin, H, W, Cout, KH, KW, OH, OW, sh, sw, ph, pw, dh, dw, groups };
}

/**
 * Forward convolution (no autograd) into a new NCHW tensor of type `dtype`; `x`, `w` dense (any offset, float32 or
 * float16), bias optional (added in f32).
 */
export function conv2dForwardRaw(x: Tensor, w: Tensor, b: Tensor | null, g: ConvGeometry, dtype: DType = convResultType(x, w), res: Tensor | null = null): Tensor {
  const dev = x.device;
  assertBindable('conv2d', 'output', [g.N, g.Cout, g.OH, g.OW], 0, dev);
  const G = g.groups, CinG = g.Cin / G, CoutG = g.Cout / G;
  const portable = !useIgemm(dev, CoutG, g.groups);
  // The portable kernel adds no bias: its sums stay f32 until the bias is added, so an f16 result is rounded once.
  const y = empty([g.N, g.Cout, g.OH, g.OW], portable && b ? 'float32' : dtype);
  if (y.size === 0) return y;
  if (portable) {
    const xd = denseFrom0(x), wd = denseFrom0(w);
    runPortable(dev, 'forward', xd.binding, 0, wd.binding, y.binding, g, { a: xd.dtype, b: wd.dtype, out: y.dtype });
    if (xd !== x) xd.dispose();
    if (wd !== w) wd.dispose();
    if (!b) return y;
    const bv = b.reshape([1, g.Cout, 1, 1]);
    const out = runMap('conv2d_bias', ['y', 'b'], 'y + b', [y, bv], y.shape, { dtype });
    bv.dispose();
    y.dispose();
    return out;
  }
  const Wp = (g.OW - 1) * g.sw + (g.KW - 1) * g.dw + 1;
  const C4 = packedChannels(g.Cin, G);
  const rowsFor = (rc: number) => (rc - 1) * g.sh + (g.KH - 1) * g.dh + 1;
  const chunks = planChunks('conv2d', dev, g.N, g.OH, g.OW, G, (rc) => 4 * G * rowsFor(rc) * Wp * C4);
  // The kernel reads the bias as f32.
  const bd = b && (!b.isContiguous || b.dtype !== 'float32') ? noGrad(() => (b.dtype === 'float32' ? b.contiguous() : cast(b, 'float32'))) : b;
  // The weights and the first chunk's input are packed in one launch (sources of two types: one launch each).
  const same = x.dtype === w.dtype;
  const wPacks = new ConvPacks(dev, w.dtype);
  const wj = wPacks.weight({ src: w.binding, srcOff: w.offset, G, CoutG, CinG, KH: g.KH, KW: g.KW, flip: false, srcCoutG: CoutG, srcCin: CinG, dtype: w.dtype });
  for (const [i, c] of chunks.entries()) {
    const Hp = rowsFor(c.rc);
    const xPacks = i === 0 && same ? wPacks : new ConvPacks(dev, x.dtype);
    const xj = xPacks.input({ src: x.binding, srcOff: x.offset, C: g.Cin, H: g.H, W: g.W, G, n0: c.n0, nc: c.nc, Hp, Wp, y0: c.r0 * g.sh - g.ph, x0: -g.pw, sy: 1, sx: 1, dtype: x.dtype });
    if (i === 0 && !same) wPacks.run();
    xPacks.run();
    runIgemm(dev, {
      xh: xPacks.region(xj), wp: { buffer: wPacks.region(wj.index), CoP: wj.CoP, C4: wj.C4, dtype: w.dtype }, bias: bd ? bd.binding : null, biasOff: bd ? bd.offset : 0, out: y.binding, outOff: 0,
      M: c.rc * g.OW, Wo: g.OW, Hp, Wp, KH: g.KH, KW: g.KW, sy: g.sh, sx: g.sw, dy: g.dh, dx: g.dw,
      G, CoutG, Cout: g.Cout, CinG, plane: g.OH * g.OW, pix0: c.r0 * g.OW, n0: c.n0, nc: c.nc, xDtype: x.dtype, outDtype: dtype,
      res: res ? residualView(res, g) ?? undefined : undefined,
    });
    if (xPacks !== wPacks) xPacks.release();
  }
  wPacks.release();
  if (bd && bd !== b) bd.dispose();
  return y;
}

/**
 * 2-D convolution with PyTorch semantics: x [N, Cin, H, W], weight [Cout, Cin/groups, kh, kw], optional bias
 * [Cout]; stride, padding and dilation as numbers or [h, w] pairs. On adapters with subgroups it runs as an
 * implicit GEMM over a packed channels-last copy of the input (src/ops/conv2d-kernels.ts has the layouts); the
 * backward pass computes the input gradient as a convolution of dY (same kernel) and the weight gradient as an
 * implicit GEMM reducing over output pixels. float16 input and weight are loaded as f16 and summed in f32 (any mix
 * of f16 and f32 operands; `dtype` picks the output's type); each gradient has its operand's type.
 */
export function conv2d(x: Tensor, w: Tensor, b?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const g = conv2dGeometry(x, w, opts);
  if (b && (b.ndim !== 1 || b.shape[0] !== g.Cout)) throw new Error(`conv2d: bias must have shape [${g.Cout}] (one per output channel), got ${shapeStr(b.shape)}`);
  const dtype = opts.dtype ?? convResultType(x, w);
  if (isMetaMode() || x.isMeta || w.isMeta) return Tensor.meta([g.N, g.Cout, g.OH, g.OW], dtype);
  for (const t of [x, w, b]) if (t?.dtype === 'int32') throw new Error(`conv2d: operands must be float32 or float16, got int32 (shape ${shapeStr(t.shape)})`);
  assertBindable('conv2d', 'output', [g.N, g.Cout, g.OH, g.OW], 0, x.device);
  const res = opts.residual ?? null;
  // The residual rides in the igemm kernel's store when it can; otherwise it is added after.
  const plain1x1 = isPlainGemm(g) && getConv2dPath() === 'auto';
  const f32 = dtype === 'float32' && x.dtype === 'float32' && w.dtype === 'float32' && (!b || b.dtype === 'float32');
  const fuse =
    res && dtype === 'float32' && (plain1x1 ? f32 && res.dtype === 'float32' && sameShape(res.shape, [g.N, g.Cout, g.OH, g.OW]) : useIgemm(x.device, g.Cout / g.groups, g.groups) && residualView(res, g));
  if (res && !fuse) {
    const y = conv2d(x, w, b, { ...opts, residual: null });
    const out = y.add(res);
    y.dispose();
    return out;
  }
  // A float32 1x1 convolution is a per-pixel linear map on NCHW: matmuls with the bias, residual and gradients fused.
  if (plain1x1) return f32 ? pointwiseLinear(x, w, b ?? null, { from: 'channels', to: 'channels', residual: res }) : conv1x1Mixed(x, w, b ?? null, g, dtype);
  const xd = x.isContiguous ? x : noGrad(() => x.contiguous());
  const wd = w.isContiguous ? w : noGrad(() => w.contiguous());
  const y = noGrad(() => conv2dForwardRaw(xd, wd, b ?? null, g, dtype, res));
  const needsGrad = isGradEnabled() && (x.requiresGrad || w.requiresGrad || Boolean(b?.requiresGrad) || Boolean(res?.requiresGrad));
  const out = needsGrad
    ? record(
        'conv2d',
        y,
        [x, w, b ?? null, res],
        (grad, [xs, ws], acc) => [
          ...conv2dGrads(
            grad,
            xs,
            ws,
            g,
            { x: x.requiresGrad, w: w.requiresGrad, b: Boolean(b?.requiresGrad) },
            { x: x.dtype, w: w.dtype, b: b?.dtype ?? 'float32' },
            { w, b: b ?? undefined },
            acc?.[0] ?? null,
          ),
          // The residual's gradient: dY itself, summed over what it was broadcast along.
          res?.requiresGrad ? sumToShape(grad, res.shape) : null,
        ],
        [xd, wd],
      )
    : y;
  if (xd !== x) xd.dispose();
  if (wd !== w) wd.dispose();
  return out;
}

/**
 * How the igemm kernel reads a residual broadcast to [N, Cout, OH, OW]: strides per sample, channel and output
 * pixel, or null when its spatial part is neither dense nor broadcast (or it is not float32).
 */
function residualView(r: Tensor, g: ConvGeometry): { buffer: BufferBinding; off: number; n: number; c: number; p: number } | null {
  if (r.dtype !== 'float32' || r.ndim !== 4) return null;
  const st = broadcastStrides(r, [g.N, g.Cout, g.OH, g.OW]);
  const [sn, sc, sy, sx] = st;
  const spatial = sy === 0 && sx === 0 ? 0 : sx === 1 && (g.OH === 1 || sy === g.OW) ? 1 : -1;
  if (spatial < 0) return null;
  return { buffer: r.binding, off: r.offset, n: sn, c: sc, p: spatial };
}

/** The output type without an explicit one: float16 when input and weight are, else float32. */
function convResultType(x: Tensor, w: Tensor): DType {
  return x.dtype === 'float16' && w.dtype === 'float16' ? 'float16' : 'float32';
}

/** A 1x1, stride-1, unpadded, ungrouped convolution is a plain matrix product per sample. */
function isPlainGemm(g: ConvGeometry): boolean {
  return g.KH === 1 && g.KW === 1 && g.sh === 1 && g.sw === 1 && g.ph === 0 && g.pw === 0 && g.groups === 1;
}

/**
 * The 1x1 path for float16 operands: y[n] = W [Cout, Cin] · x[n] [Cin, H·W] through `matmul` (NCHW is already its
 * layout), so autograd comes from matmul's rule and the bias add's. With a bias the product stays f32 until the bias
 * is added. float32 takes pointwiseLinear (src/ops/linear-layout.ts: bias, residual and gradients in the matmul launches).
 */
function conv1x1Mixed(x: Tensor, w: Tensor, b: Tensor | null, g: ConvGeometry, dtype: DType): Tensor {
  return tidy(() => {
    const y = matmul(w.reshape([g.Cout, g.Cin]), x.reshape([g.N, g.Cin, g.H * g.W]), { dtype: b ? 'float32' : dtype }).reshape([g.N, g.Cout, g.OH, g.OW]);
    return b ? cast(y.add(b.reshape([1, g.Cout, 1, 1])), dtype) : y;
  });
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    conv2d(w: Tensor, b?: Tensor | null, opts?: Conv2dOptions): Tensor;
  }
}
Tensor.prototype.conv2d = function (this: Tensor, w: Tensor, b?: Tensor | null, opts?: Conv2dOptions) {
  return conv2d(this, w, b, opts);
};
