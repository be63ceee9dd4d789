import igemmTemplate from '../../shaders/conv2d-igemm.wgsl';
import packSource from '../../shaders/conv2d-pack.wgsl';
import portableTemplate from '../../shaders/conv2d-portable.wgsl';
import wgradTemplate from '../../shaders/conv2d-wgrad.wgsl';
import type { BufferBinding, GpuDevice } from '../../runtime/index.js';
import { bytesPerElement, type DType } from '../tensor/dtype.js';
import { workgroups1d } from './dispatch.js';
import { withTypes } from './wgsl-types.js';
import { withFlags } from './wgsl-flags.js';
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
  buffer: BufferBinding;
  /** Output channels per group as packed (a multiple of 32). */
  CoP: number;
  C4: number;
  dtype: DType;
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

interface Job {
  kind: 0 | 1 | 2;
  src: BufferBinding;
  /** Vec4s the job writes, and its 20-word block of the params (h filled in at run time). */
  total: number;
  words: number[];
}

const sameBinding = (a: BufferBinding, b: BufferBinding) =>
  'buffer' in a && 'buffer' in b ? a.buffer === b.buffer && a.offset === b.offset && a.size === b.size : a === b;

/** Destination regions start on 256 bytes: each is then bound by range (WebGPU's storage offset alignment). */
const REGION_ALIGN = 256;

/**
 * The packs of one convolution pass, run together: `input`, `weight` and `grad` queue jobs (see
 * shaders/conv2d-pack.wgsl) and return their index; `run` records them, up to four jobs and three sources per
 * launch, into one destination buffer, and `region(i)` is job i's packed copy as a binding. Every source must have
 * the element type given to the constructor. `release` hands the buffer back once the consumers are recorded.
 */
export class ConvPacks {
  private jobs: Job[] = [];
  private regions: BufferBinding[] = [];
  private buffers: GPUBuffer[] = [];

  constructor(
    private readonly dev: GpuDevice,
    readonly dtype: DType,
  ) {}

  private add(kind: Job['kind'], src: BufferBinding, dtype: DType | undefined, total: number, words: number[]): number {
    if ((dtype ?? 'float32') !== this.dtype) throw new Error(`internal: a ${dtype ?? 'float32'} pack in a batch of ${this.dtype} packs`);
    this.jobs.push({ kind, src, total, words });
    return this.jobs.length - 1;
  }

  input(s: PackInputSpec): number {
    const C4 = packedChannels(s.C, s.G);
    const total = (s.nc * s.G * s.Hp * s.Wp * C4) / 4;
    const i32 = (v: number) => v >>> 0;
    return this.add(0, s.src, s.dtype, total, [s.C, s.H, s.W, s.C / s.G, C4, s.G, s.Hp, s.Wp, s.n0, s.srcOff, i32(s.y0), i32(s.x0), s.sy, s.sx, 0, 0]);
  }

  /** Queues the weight pack; the returned meta describes the packed layout (its buffer is `region(index)`). */
  weight(s: PackWeightSpec): { index: number; CoP: number; C4: number } {
    const C4 = round(s.CinG, 4);
    const CoP = round(s.CoutG, 32);
    const total = s.G * s.KH * s.KW * (C4 / 4) * CoP;
    const index = this.add(1, s.src, s.dtype, total, [s.CoutG, s.CinG, C4, s.KH, s.KW, CoP, s.flip ? 1 : 0, s.srcCin, s.srcCoutG, s.srcOff, 0, 0, 0, 0, 0, 0]);
    return { index, CoP, C4 };
  }

  grad(s: PackGradSpec): { index: number; CoP: number } {
    const CoutG = s.Cout / s.G;
    const CoP = round(CoutG, 32);
    const total = (s.G * s.nc * s.P * CoP) / 4;
    const index = this.add(2, s.src, s.dtype, total, [s.Cout, CoutG, CoP, s.G, s.P, s.n0, s.nc, s.srcOff, s.plane, s.pix0, 0, 0, 0, 0, 0, 0]);
    return { index, CoP };
  }

  /** Records every queued job; returns nothing, see `region`. */
  run(): void {
    const dev = this.dev;
    const vec4Bytes = 4 * bytesPerElement(this.dtype);
    // Group jobs into launches of at most four jobs reading at most three distinct sources.
    const launches: Job[][] = [];
    for (const j of this.jobs) {
      const cur = launches[launches.length - 1];
      const srcs = cur ? [...new Set(cur.map((x) => x.src))] : [];
      const fits = cur && cur.length < 4 && (srcs.some((b) => sameBinding(b, j.src)) || srcs.length < 3);
      if (fits) cur.push(j);
      else launches.push([j]);
    }
    const pipeline = dev.pipeline('conv2d_pack', withTypes(packSource, { ST: this.dtype }), { WG: PACK_WG });
    for (const jobs of launches) {
      const starts: number[] = [];
      let bytes = 0;
      for (const j of jobs) {
        starts.push(bytes);
        bytes += Math.ceil(Math.max(1, j.total * vec4Bytes) / REGION_ALIGN) * REGION_ALIGN;
      }
      const buffer = dev.createBuffer(bytes, 'conv2d-packed');
      this.buffers.push(buffer);
      const srcs: BufferBinding[] = [];
      const u = new Uint32Array(4 + 4 * 20);
      u[0] = jobs.length;
      let total = 0;
      jobs.forEach((j, k) => {
        let si = srcs.findIndex((b) => sameBinding(b, j.src));
        if (si < 0) si = srcs.push(j.src) - 1;
        u.set([j.kind, si, starts[k] / vec4Bytes, j.total, ...j.words], 4 + 20 * k);
        this.regions.push({ buffer, offset: starts[k], size: Math.max(vec4Bytes, j.total * vec4Bytes) });
        total += j.total;
      });
      // Unused source bindings repeat the first (read-only bindings may alias).
      while (srcs.length < 3) srcs.push(srcs[0]);
      if (total > 0) {
        dev.dispatch({
          name: 'conv2d_pack',
          pipeline,
          buffers: [...srcs, buffer],
          uniform: u,
          workgroups: workgroups1d(dev, total, PACK_WG),
          bytes: 2 * total * vec4Bytes,
        });
      }
    }
  }

  /** Job `index`'s packed copy (after `run`). */
  region(index: number): BufferBinding {
    const r = this.regions[index];
    if (!r) throw new Error('internal: ConvPacks.region before run()');
    return r;
  }

  release(): void {
    for (const b of this.buffers) this.dev.releaseBuffer(b);
    this.buffers = [];
    this.regions = [];
    this.jobs = [];
  }
}

export interface IgemmSpec {
  xh: BufferBinding;
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
  /** f32 residual added as the output is stored: offset and strides per sample, channel and pixel (0: broadcast). */
  res?: { buffer: BufferBinding; off: number; n: number; c: number; p: number };
  /** Add to what `out` holds (a gradient summed into the one already collected). */
  accumulate?: boolean;
}

/** Output chunk = convolution of a packed input chunk (stride/dilation as given) with packed weights. */
export function runIgemm(dev: GpuDevice, s: IgemmSpec): void {
  const rows = 8 * getConv2dTiles().igemmNR;
  const grid: [number, number, number] = [Math.ceil(s.M / rows), s.wp.CoP / 32, s.nc * s.G];
  const u = new Uint32Array([
    s.M, s.Wo, s.Hp, s.Wp, s.wp.C4 / 4, s.KH, s.KW, s.sy, s.sx, s.dy, s.dx, s.G, s.wp.CoP, s.CoutG, s.Cout, s.plane, s.pix0, s.n0,
    s.bias ? 1 : 0, s.outOff, s.biasOff, s.res?.off ?? 0, s.res?.n ?? 0, s.res?.c ?? 0, s.res?.p ?? 0, 0, 0, 0,
  ]);
  dev.dispatch({
    name: 'conv2d_igemm',
    pipeline: dev.pipeline(
      'conv2d_igemm',
      withTypes(withFlags(spliced('igemm', igemmTemplate, getConv2dTiles().igemmNR), { RES: Boolean(s.res), ACC: Boolean(s.accumulate) }), {
        XT: s.xDtype ?? 'float32',
        WT: s.wp.dtype,
        OT: s.outDtype ?? 'float32',
      }),
    ),
    buffers: [s.xh, s.wp.buffer, s.bias ?? s.wp.buffer, s.out, ...(s.res ? [s.res.buffer] : [])],
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
    pipeline: dev.pipeline('conv2d_sum_partials', withFlags(spliced('wgrad', wgradTemplate, 1), { BIAS: false, ACC: false }), {}, 'sum_partials'),
    buffers: [part, out],
    uniform: new Uint32Array([n, splits, 0, 0]),
    workgroups: workgroups1d(dev, n, 64),
    bytes: 4 * n * (splits + 1),
  });
}

export interface WgradSpec {
  xh: BufferBinding;
  gt: BufferBinding;
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
  /** Unsplit only: also write the bias gradient (Σ dY over pixels, [G·CoutG] f32) here. */
  db?: BufferBinding;
  /** Add to what `out` (and `db`) hold instead of writing. */
  accumulate?: boolean;
}

/** Partial weight gradients [splits][G·CoutG][CinG][KH][KW] of one chunk, written at `outOff`. */
export function runWgrad(dev: GpuDevice, s: WgradSpec): void {
  if ((s.db || s.accumulate) && s.splits !== 1) throw new Error('internal: the weight-gradient bias and accumulate epilogues need an unsplit pixel reduction');
  const k4n = s.KH * s.KW * (s.C4 / 4);
  const rowsTotal = s.nc * s.Ho;
  const rowsPerSplit = Math.ceil(rowsTotal / s.splits);
  const grid: [number, number, number] = [Math.ceil(k4n / (8 * getConv2dTiles().wgradNR)), s.CoP / 32, s.G * s.splits];
  const u = new Uint32Array([
    s.Hp, s.Wp, s.C4 / 4, s.KH, s.KW, s.sy, s.sx, s.dy, s.dx, s.G, s.Ho, s.Wo, s.nc, s.CoP, s.CoutG, s.CinG, s.splits, rowsPerSplit, s.outOff, 0,
  ]);
  dev.dispatch({
    name: 'conv2d_wgrad',
    pipeline: dev.pipeline(
      'conv2d_wgrad',
      withTypes(withFlags(spliced('wgrad', wgradTemplate, getConv2dTiles().wgradNR), { BIAS: Boolean(s.db), ACC: Boolean(s.accumulate) }), { XT: s.xDtype ?? 'float32', GT: s.gDtype ?? 'float32' }),
    ),
    buffers: s.db ? [s.xh, s.gt, s.out, s.db] : [s.xh, s.gt, s.out],
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
