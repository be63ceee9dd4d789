import template from '../../shaders/conv2d.wgsl';
import { record } from '../autograd/graph.js';
import { Tensor, empty } from '../tensor/tensor.js';
import { shapeStr } from '../tensor/shape.js';
import { contiguous, copyInto } from './copy.js';

export interface Conv2dOptions {
  stride?: number | readonly [number, number];
  padding?: number | readonly [number, number];
  dilation?: number | readonly [number, number];
  groups?: number;
}

const pair = (v: number | readonly [number, number] | undefined, def: number): [number, number] => (v === undefined ? [def, def] : typeof v === 'number' ? [v, v] : [v[0], v[1]]);

/** Tile shape of the implicit-GEMM kernels (pixels x channels per invocation, workgroup shape). */
const TILE = { TM: 4, TN: 4, WX: 8, WY: 8 };
let source: string | null = null;
const kernelSource = () => (source ??= template.replace('/*TM*/4u', `${TILE.TM}u`).replace('/*TN*/4u', `${TILE.TN}u`));

interface Geometry {
  N: number; Cin: number; H: number; W: number; Cout: number; KH: number; KW: number; OH: number; OW: number;
  sh: number; sw: number; ph: number; pw: number; dh: number; dw: number; groups: number;
}

function geometry(x: Tensor, w: Tensor, opts: Conv2dOptions): Geometry {
  if (x.ndim !== 4) throw new Error(`conv2d: input must be [N, C, H, W], got shape ${shapeStr(x.shape)}`);
  if (w.ndim !== 4) throw new Error(`conv2d: weight must be [out, in/groups, kh, kw], got shape ${shapeStr(w.shape)}`);
  const [N, Cin, H, W] = x.shape;
  const [Cout, cinG, KH, KW] = w.shape;
  const groups = opts.groups ?? 1;
  const [sh, sw] = pair(opts.stride, 1), [ph, pw] = pair(opts.padding, 0), [dh, dw] = pair(opts.dilation, 1);
  if (!Number.isInteger(groups) || groups < 1 || Cin % groups || Cout % groups) {
    throw new Error(`conv2d: groups=${groups} must divide both input channels (${Cin}) and output channels (${Cout})`);
  }
  if (cinG * groups !== Cin) {
    throw new Error(`conv2d: weight expects ${cinG * groups} input channels but input has ${Cin} (shape ${shapeStr(x.shape)}, weight ${shapeStr(w.shape)})`);
  }
  if ([sh, sw, dh, dw].some((v) => !Number.isInteger(v) || v < 1) || [ph, pw].some((v) => !Number.isInteger(v) || v < 0)) {
    throw new Error(`conv2d: stride and dilation must be positive integers and padding non-negative (got stride ${sh},${sw} padding ${ph},${pw} dilation ${dh},${dw})`);
  }
  const ekh = (KH - 1) * dh + 1, ekw = (KW - 1) * dw + 1;
  if (ekh > H + 2 * ph || ekw > W + 2 * pw) {
    throw new Error(`conv2d: kernel ${KH}x${KW} (dilation ${dh},${dw}) is larger than the padded input ${H + 2 * ph}x${W + 2 * pw} (shape ${shapeStr(x.shape)})`);
  }
  const OH = Math.floor((H + 2 * ph - ekh) / sh) + 1, OW = Math.floor((W + 2 * pw - ekw) / sw) + 1;
  return { N, Cin, H, W, Cout, KH, KW, OH, OW, sh, sw, ph, pw, dh, dw, groups };
}

function params(g: Geometry, group: number, xOff: number): Uint32Array {
  const cinG = g.Cin / g.groups, coutG = g.Cout / g.groups;
  return new Uint32Array([g.N, g.Cin, g.H, g.W, g.Cout, g.OH, g.OW, g.KH, g.KW, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, cinG, coutG, group * cinG, group * coutG, xOff]);
}

type Entry = 'forward' | 'backward_data' | 'backward_weight';

function run(entry: Entry, a: Tensor, b: Tensor, out: Tensor, g: Geometry): void {
  const dev = out.device;
  const pipeline = dev.pipeline(`conv2d_${entry}`, kernelSource(), { WX: TILE.WX, WY: TILE.WY }, entry);
  const bm = TILE.WY * TILE.TM, bn = TILE.WX * TILE.TN;
  const cinG = g.Cin / g.groups, coutG = g.Cout / g.groups;
  const kk = g.KH * g.KW;
  for (let grp = 0; grp < g.groups; grp++) {
    const [m, n, z] =
      entry === 'forward' ? [g.OH * g.OW, coutG, g.N] : entry === 'backward_data' ? [g.H * g.W, cinG, g.N] : [coutG, cinG * kk, 1];
    const flops = 2 * g.N * g.OH * g.OW * coutG * cinG * kk;
    dev.dispatch({
      name: `conv2d_${entry}`,
      pipeline,
      buffers: [a.buffer, b.buffer, out.buffer],
      uniform: params(g, grp, entry === 'backward_data' ? 0 : a.offset),
      workgroups: [Math.ceil(n / bn), Math.ceil(m / bm), z],
      flops,
      bytes: 4 * (a.size + b.size + out.size),
    });
  }
}

/**
 * 2-D convolution, NCHW at the API and internally (weights [out, in/groups, kh, kw] as PyTorch), as implicit
 * GEMM kernels for the forward and both backward passes: no im2col buffer is ever allocated, so memory is the
 * input, the weight and the output only. Groups run as one dispatch each.
 */
export function conv2d(x: Tensor, w: Tensor, b?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const g = geometry(x, w, opts);
  if (b && (b.ndim !== 1 || b.shape[0] !== g.Cout)) throw new Error(`conv2d: bias must have shape [${g.Cout}], got ${shapeStr(b.shape)}`);
  const xd = contiguous(x);
  const wd = dense0(w);
  const y = empty([g.N, g.Cout, g.OH, g.OW]);
  if (y.size > 0) run('forward', xd, wd, y, g);
  const conv = record(
    'conv2d',
    y,
    [x, w],
    (grad, [xs, ws]) => {
      const gd = dense0(grad);
      let dx: Tensor | null = null;
      let dw: Tensor | null = null;
      if (x.requiresGrad) {
        dx = empty(x.shape);
        run('backward_data', gd, ws, dx, g);
      }
      if (w.requiresGrad) {
        dw = empty(w.shape);
        run('backward_weight', xs, gd, dw, g);
      }
      if (gd !== grad) gd.dispose();
      return [dx, dw];
    },
    [xd, wd],
  );
  if (xd !== x) xd.dispose();
  if (wd !== w) wd.dispose();
  if (!b) return conv;
  // The bias is an ordinary broadcast add: its gradient (a sum over N, H, W) comes from add's rule.
  const bv = b.reshape([1, g.Cout, 1, 1]);
  const out = conv.add(bv);
  bv.dispose();
  conv.dispose();
  return out;
}

/** A dense copy starting at element 0 (the kernels index some operands without an offset). */
function dense0(t: Tensor): Tensor {
  if (t.isContiguous && t.offset === 0) return t;
  const c = empty(t.shape);
  copyInto(c, t);
  return c;
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    conv2d(w: Tensor, b?: Tensor | null, opts?: Conv2dOptions): Tensor;
  }
}
Tensor.prototype.conv2d = function (this: Tensor, w: Tensor, b?: Tensor | null, opts?: Conv2dOptions) {
  return conv2d(this, w, b, opts);
};
