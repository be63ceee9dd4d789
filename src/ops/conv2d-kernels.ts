import igemmTemplate from '../../shaders/conv2d-igemm.wgsl';
import packSource from '../../shaders/conv2d-pack.wgsl';
import portableTemplate from '../../shaders/conv2d-portable.wgsl';
import wgradTemplate from '../../shaders/conv2d-wgrad.wgsl';
import type { BufferBinding, GpuDevice } from '../../runtime/index.js';
import { bytesPerElement, type DType } from '../tensor/dtype.js';
import { workgroups1d } from './dispatch.js';
import { withTypes } from './wgsl-types.js';
import { getConv2dTiles, type ConvGeometry } from './conv2d-plan.js';

/**
 * The convolution kernels on raw buffers (src/ops/conv2d.ts maps tensors onto them). Internal layouts:
 * - packed input  xh[n][g][y][x][c]: per group, channels last, channels rounded up to 4 (zeros), the zero padding
 *   (or, for the input gradient, the zero insertion of the stride) written out, so the kernels never test bounds
 *   and read one vec4 per pixel and tap;
 * - packed weights wp[g][k4][co][4]: k4 = (ky, kx, c4) steps of 4 input channels, co padded to a multiple of 32;
 * - packed dY     gt[g][n][pixel][co]: channels last, co padded to a multiple of 32 (weight gradient only).
 * Activations and the results are NCHW, as at the API. Large inputs are processed in chunks of whole samples or,
 * for one huge sample, of output rows, so no packed buffer exceeds the binding limit (src/ops/conv2d-plan.ts).
 * Every operand may be float16 (`dtype` fields; default float32): packed copies keep their source's type, the
 * kernels widen what they load and sum in f32.
 */

export const PACK_WG = 64;

const round = (v: number, m: number) => Math.ceil(v / m) * m;

const sources = new Map<string, string>();
function spliced(name: string, template: string, nr: number): string {
  const key = `${name}:${nr}`;
  let s = sources.get(key);
  if (!s) {
    s = template.replace(/\/\*NR\*\/\d+u/, `${nr}u`);
    sources.set(key, s);
  }
  return s;
}

function packDispatch(dev: GpuDevice, entry: string, src: BufferBinding, dst: GPUBuffer, uniform: Uint32Array, total: number, dtype: DType): void {
  dev.dispatch({
    name: `conv2d_${entry}`,
    pipeline: dev.pipeline(`conv2d_${entry}`, withTypes(packSource, { ST: dtype }), { WG: PACK_WG }, entry),
    buffers: [src, dst],
    uniform,
    workgroups: workgroups1d(dev, total, PACK_WG),
    bytes: 4 * bytesPerElement(dtype) * total * 2,
  });
}

export interface PackInputSpec {
  src: BufferBinding;
  srcOff: number;
  /** Source channels (all groups), height, width. */
  C: number;
  H: number;
  W: number;
  G: number;
  /** First sample and number of samples of this chunk. */
  n0: number;
  nc: number;
  /** Packed height and width, and the source coordinate (before division by sy/sx) of packed (0, 0). */
  Hp: number;
  Wp: number;
  y0: number;
  x0: number;
  sy: number;
  sx: number;
  /** Element type of the source, and so of the packed copy (default float32). */
  dtype?: DType;
}

/** Channels per group rounded up to 4: the packed pixel's size in floats. */
export const packedChannels = (C: number, G: number) => round(C / G, 4);

export function packedInputBytes(s: Pick<PackInputSpec, 'C' | 'G' | 'nc' | 'Hp' | 'Wp'>): number {
  return 4 * s.nc * s.G * s.Hp * s.Wp * packedChannels(s.C, s.G);
}

/** Packs NCHW activations into xh (see the file comment); returns a scratch buffer the caller releases. */
export function packInput(dev: GpuDevice, s: PackInputSpec): GPUBuffer {
  const C4 = packedChannels(s.C, s.G);
  const total = (s.nc * s.G * s.Hp * s.Wp * C4) / 4;
  const dtype = s.dtype ?? 'float32';
  const dst = dev.createBuffer(Math.max(16, total * 4 * bytesPerElement(dtype)), 'conv2d-xh');
  const u = new Uint32Array(16);
  const i = new Int32Array(u.buffer);
  u.set([total, s.C, s.H, s.W, s.C / s.G, C4, s.G, s.Hp, s.Wp, s.n0, s.srcOff]);
  i[11] = s.y0;
  i[12] = s.x0;
  u[13] = s.sy;
  u[14] = s.sx;
  if (total > 0) packDispatch(dev, 'pack_input', s.src, dst, u, total, dtype);
  return dst;
}

export interface PackWeightSpec {
  src: BufferBinding;
  srcOff: number;
  G: number;
  /** Output and input channels per group of the packed (possibly transposed) kernel. */
  CoutG: number;
  CinG: number;
  KH: number;
  KW: number;
  /** Pack the transposed, 180°-rotated kernel (for the input gradient). */
  flip: boolean;
  /** Shape of the source weight: [G * srcCoutG, srcCin, KH, KW]. */
  srcCoutG: number;
  srcCin: number;
  dtype?: DType;
}

export interface PackedWeight {
  buffer: GPUBuffer;
  /** Output channels per group as packed (a multiple of 32). */
  CoP: number;
  C4: number;
  dtype: DType;
}

export function packWeight(dev: GpuDevice, s: PackWeightSpec): PackedWeight {
  const C4 = round(s.CinG, 4);
  const CoP = round(s.CoutG, 32);
  const total = s.G * s.KH * s.KW * (C4 / 4) * CoP;
  const dtype = s.dtype ?? 'float32';
  const buffer = dev.createBuffer(total * 4 * bytesPerElement(dtype), 'conv2d-wp');
  const u = new Uint32Array([total, s.CoutG, s.CinG, C4, s.KH, s.KW, CoP, s.flip ? 1 : 0, s.srcCin, s.srcCoutG, s.srcOff, 0]);
  packDispatch(dev, 'pack_weight', s.src, buffer, u, total, dtype);
  return { buffer, CoP, C4, dtype };
}

export interface PackGradSpec {
  src: BufferBinding;
  srcOff: number;
  Cout: number;
  G: number;
  /** Pixels per sample of the source (Ho·Wo); the chunk's first pixel and pixel count; its samples. */
  plane: number;
  pix0: number;
  P: number;
  n0: number;
  nc: number;
  dtype?: DType;
}

/** dY [N][Cout][plane] (the chunk's samples and pixels) → gt[g][n][P][CoP]. */
export function packGrad(dev: GpuDevice, s: PackGradSpec): { buffer: GPUBuffer; CoP: number; dtype: DType } {
  const CoutG = s.Cout / s.G;
  const CoP = round(CoutG, 32);
  const total = (s.G * s.nc * s.P * CoP) / 4;
  const dtype = s.dtype ?? 'float32';
  const buffer = dev.createBuffer(Math.max(16, total * 4 * bytesPerElement(dtype)), 'conv2d-gt');
  const u = new Uint32Array([total, s.Cout, CoutG, CoP, s.G, s.P, s.n0, s.nc, s.srcOff, s.plane, s.pix0, 0]);
  const src = s.src;
  if (total > 0) packDispatch(dev, 'pack_grad', src, buffer, u, total, dtype);
  return { buffer, CoP, dtype };
}

export interface IgemmSpec {
  xh: GPUBuffer;
  wp: PackedWeight;
  bias: BufferBinding | null;
  biasOff: number;
  out: BufferBinding;
  outOff: number;
  /** Output pixels of the chunk (rows × Wo), output width, packed input size. */
  M: number;
  Wo: number;
  Hp: number;
  Wp: number;
  KH: number;
  KW: number;
  sy: number;
  sx: number;
  dy: number;
  dx: number;
  G: number;
  CoutG: number;
  Cout: number;
  /** Output plane size (Ho·Wo), first pixel of the chunk in it, first sample and samples of the chunk. */
  plane: number;
  pix0: number;
  n0: number;
  nc: number;
  CinG: number;
  /** Element type of the packed input `xh` and of the output (default float32). */
  xDtype?: DType;
  outDtype?: DType;
}

/** Output chunk = convolution of a packed input chunk (stride/dilation as given) with packed weights. */
export function runIgemm(dev: GpuDevice, s: IgemmSpec): void {
  const rows = 8 * getConv2dTiles().igemmNR;
  const grid: [number, number, number] = [Math.ceil(s.M / rows), s.wp.CoP / 32, s.nc * s.G];
  const u = new Uint32Array([
    s.M, s.Wo, s.Hp, s.Wp, s.wp.C4 / 4, s.KH, s.KW, s.sy, s.sx, s.dy, s.dx, s.G, s.wp.CoP, s.CoutG, s.Cout, s.plane, s.pix0, s.n0,
    s.bias ? 1 : 0, s.outOff, s.biasOff, 0, 0, 0,
  ]);
  dev.dispatch({
    name: 'conv2d_igemm',
    pipeline: dev.pipeline(
      'conv2d_igemm',
      withTypes(spliced('igemm', igemmTemplate, getConv2dTiles().igemmNR), { XT: s.xDtype ?? 'float32', WT: s.wp.dtype, OT: s.outDtype ?? 'float32' }),
    ),
    buffers: [s.xh, s.wp.buffer, s.bias ?? s.wp.buffer, s.out],
    uniform: u,
    workgroups: grid,
    flops: 2 * s.nc * s.M * s.CoutG * s.G * s.CinG * s.KH * s.KW,
    bytes: 4 * s.nc * s.G * (s.Hp * s.Wp * s.wp.C4 + s.M * s.CoutG),
  });
}

/** out (n floats) = the sum of `splits` consecutive partial results of n floats each. */
export function sumPartials(dev: GpuDevice, part: BufferBinding, out: BufferBinding, n: number, splits: number): void {
  dev.dispatch({
    name: 'conv2d_sum_partials',
    pipeline: dev.pipeline('conv2d_sum_partials', spliced('wgrad', wgradTemplate, 1), {}, 'sum_partials'),
    buffers: [part, out],
    uniform: new Uint32Array([n, splits, 0, 0]),
    workgroups: workgroups1d(dev, n, 64),
    bytes: 4 * n * (splits + 1),
  });
}

export interface WgradSpec {
  xh: GPUBuffer;
  gt: GPUBuffer;
  CoP: number;
  out: BufferBinding;
  outOff: number;
  Hp: number;
  Wp: number;
  C4: number;
  KH: number;
  KW: number;
  sy: number;
  sx: number;
  dy: number;
  dx: number;
  G: number;
  Ho: number;
  Wo: number;
  nc: number;
  CoutG: number;
  CinG: number;
  splits: number;
  /** Element types of the packed input and the packed dY (default float32); the partial sums are float32. */
  xDtype?: DType;
  gDtype?: DType;
}

/** Partial weight gradients [splits][G·CoutG][CinG][KH][KW] of one chunk, written at `outOff`. */
export function runWgrad(dev: GpuDevice, s: WgradSpec): void {
  const k4n = s.KH * s.KW * (s.C4 / 4);
  const rowsTotal = s.nc * s.Ho;
  const rowsPerSplit = Math.ceil(rowsTotal / s.splits);
  const grid: [number, number, number] = [Math.ceil(k4n / (8 * getConv2dTiles().wgradNR)), s.CoP / 32, s.G * s.splits];
  const u = new Uint32Array([
    s.Hp, s.Wp, s.C4 / 4, s.KH, s.KW, s.sy, s.sx, s.dy, s.dx, s.G, s.Ho, s.Wo, s.nc, s.CoP, s.CoutG, s.CinG, s.splits, rowsPerSplit, s.outOff, 0,
  ]);
  dev.dispatch({
    name: 'conv2d_wgrad',
    pipeline: dev.pipeline('conv2d_wgrad', withTypes(spliced('wgrad', wgradTemplate, getConv2dTiles().wgradNR), { XT: s.xDtype ?? 'float32', GT: s.gDtype ?? 'float32' })),
    buffers: [s.xh, s.gt, s.out],
    uniform: u,
    workgroups: grid,
    flops: 2 * s.nc * s.Ho * s.Wo * s.G * s.CoutG * s.CinG * s.KH * s.KW,
    bytes: 4 * s.nc * s.G * (s.Hp * s.Wp * s.C4 + s.Ho * s.Wo * s.CoP),
  });
}

export type PortableEntry = 'forward' | 'backward_data' | 'backward_weight';
const PORTABLE_TILE = { TM: 4, TN: 4, WX: 8, WY: 8 };
let portableSource: string | null = null;

/**
 * The portable kernels (shaders/conv2d-portable.wgsl: register-blocked, no subgroups, NCHW read directly), for
 * adapters without subgroups and for convolutions with few channels per group (depthwise), where the 32-channel
 * tiles of the subgroup kernels would sit mostly idle. `a` and `b` must be dense from element 0, except that the
 * forward and weight-gradient passes take x at `aOff`. `types` are the element types of a, b and out.
 */
export function runPortable(
  dev: GpuDevice,
  entry: PortableEntry,
  a: BufferBinding,
  aOff: number,
  b: BufferBinding,
  out: BufferBinding,
  g: ConvGeometry,
  types: { a: DType; b: DType; out: DType } = { a: 'float32', b: 'float32', out: 'float32' },
): void {
  const t = PORTABLE_TILE;
  portableSource ??= portableTemplate.replace('/*TM*/4u', `${t.TM}u`).replace('/*TN*/4u', `${t.TN}u`);
  const pipeline = dev.pipeline(`conv2d_${entry}`, withTypes(portableSource, { AT: types.a, BT: types.b, OT: types.out }), { WX: t.WX, WY: t.WY }, entry);
  const bm = t.WY * t.TM, bn = t.WX * t.TN;
  const cinG = g.Cin / g.groups, coutG = g.Cout / g.groups;
  const kk = g.KH * g.KW;
  for (let grp = 0; grp < g.groups; grp++) {
    const [m, n, z] = entry === 'forward' ? [g.OH * g.OW, coutG, g.N] : entry === 'backward_data' ? [g.H * g.W, cinG, g.N] : [coutG, cinG * kk, 1];
    dev.dispatch({
      name: `conv2d_${entry}`,
      pipeline,
      buffers: [a, b, out],
      uniform: new Uint32Array([g.N, g.Cin, g.H, g.W, g.Cout, g.OH, g.OW, g.KH, g.KW, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, cinG, coutG, grp * cinG, grp * coutG, entry === 'backward_data' ? 0 : aOff]),
      workgroups: [Math.ceil(n / bn), Math.ceil(m / bm), z],
      flops: 2 * g.N * g.OH * g.OW * coutG * cinG * kk,
      bytes: 4 * (g.N * g.Cin * g.H * g.W + g.Cout * cinG * kk + g.N * g.Cout * g.OH * g.OW),
    });
  }
}
