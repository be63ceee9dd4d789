import generalTemplate from '../../shaders/matmul.wgsl';
import packSource from '../../shaders/matmul-pack.wgsl';
import subgroupTemplate from '../../shaders/matmul-subgroup.wgsl';
import tiledSource from '../../shaders/matmul-tiled.wgsl';
import type { BufferBinding, DispatchSpec, GpuDevice } from '../../runtime/index.js';
import { bytesPerElement, type DType } from '../tensor/dtype.js';
import { workgroups1d } from './dispatch.js';
import { withTypes } from './wgsl-types.js';
import { withFlags } from './wgsl-flags.js';

/**
 * The matmul kernels on raw buffers, below tensors: src/ops/matmul.ts maps tensor views onto them and
 * src/ops/autotune.ts times them. Three families:
 * - `general` (shaders/matmul.wgsl): register-blocked, reads any strides directly; small products and fallback.
 * - `subgroup` (shaders/matmul-subgroup.wgsl): one 8-lane subgroup per workgroup sharing A by broadcast; the
 *   fastest kernel on CPU adapters (lavapipe).
 * - `tiled` (shaders/matmul-tiled.wgsl): shared-memory tiles with vec4 loads; the usual choice on real GPUs.
 * The last two read operands packed as vec4 rows along K (`packRowsK`); views already laid out that way are used
 * in place. Each operand and the output may be float16 (the kernels load f16 and accumulate in f32).
 */
export interface GeneralConfig {
  kernel: 'general';
  /** Rows x columns of C per invocation. */
  TM: number;
  TN: number;
  /** Workgroup size (x along N, y along M). */
  WX: number;
  WY: number;
}
export interface SubgroupConfig {
  kernel: 'subgroup';
  /** A vec4 registers per lane (1..4): the workgroup computes 8·NR rows by 32 columns. */
  NR: number;
}
export interface TiledConfig {
  kernel: 'tiled';
  /** Workgroup side: TS x TS invocations computing a 4TS x 4TS tile. */
  TS: number;
}
export type MatmulConfig = GeneralConfig | SubgroupConfig | TiledConfig;

export const DEFAULT_GENERAL: GeneralConfig = { kernel: 'general', TM: 4, TN: 4, WX: 8, WY: 8 };

export function configName(c: MatmulConfig): string {
  switch (c.kernel) {
    case 'general':
      return `general-${c.TM}x${c.TN}-wg${c.WX}x${c.WY}`;
    case 'subgroup':
      return `subgroup-${8 * c.NR}x32`;
    case 'tiled':
      return `tiled-${4 * c.TS}`;
  }
}

function invalidReason(c: MatmulConfig): string | null {
  const int = (x: unknown, lo: number, hi: number) => Number.isInteger(x) && (x as number) >= lo && (x as number) <= hi;
  switch (c.kernel) {
    case 'general':
      return int(c.TM, 1, 16) && int(c.TN, 1, 16) && int(c.WX, 1, 256) && int(c.WY, 1, 256) ? null : 'TM and TN must be 1..16, WX and WY 1..256';
    case 'subgroup':
      return int(c.NR, 1, 4) ? null : 'NR must be 1..4';
    case 'tiled':
      return int(c.TS, 1, 32) ? null : 'TS must be 1..32';
    default:
      return `unknown kernel '${(c as { kernel: unknown }).kernel}'`;
  }
}

/** Why `c` cannot run on `dev` (or is malformed), or null when it can. */
export function unsupportedReason(dev: GpuDevice, c: MatmulConfig): string | null {
  const invalid = invalidReason(c);
  if (invalid) return invalid;
  const lim = dev.limits;
  switch (c.kernel) {
    case 'general':
      if (c.WX * c.WY > lim.maxComputeInvocationsPerWorkgroup) return `workgroup ${c.WX}x${c.WY} is too large`;
      return null;
    case 'subgroup': {
      if (!dev.hasSubgroups) return "the device has no 'subgroups' feature";
      // The kernel broadcasts from lanes 0..7 of a workgroup of 8: subgroups must hold at least 8 invocations.
      const min = (dev.device as { adapterInfo?: { subgroupMinSize?: number } }).adapterInfo?.subgroupMinSize;
      if (min !== undefined && min < 8) return `subgroups may have only ${min} invocations`;
      return null;
    }
    case 'tiled':
      if (c.TS * c.TS > lim.maxComputeInvocationsPerWorkgroup) return `workgroup ${c.TS}x${c.TS} is too large`;
      if (2 * 64 * c.TS * 4 > lim.maxComputeWorkgroupStorageSize) return 'not enough workgroup memory';
      return null;
  }
}

/**
 * One operand as a [batch, rows, K] view of a buffer: element offset and strides (bs = 0 repeats one matrix for
 * every batch). A is [batch, M, K]; B is passed transposed, as [batch, N, K] (B's view with its strides swapped).
 */
export interface MatOperand {
  buffer: BufferBinding;
  off: number;
  bs: number;
  rs: number;
  cs: number;
  /** Element type (default float32). */
  dtype?: DType;
}
export interface MatDims {
  batch: number;
  M: number;
  N: number;
  K: number;
}
/** Where kernels go: the engine's batch (`engineRecorder`), or the autotuner's private command buffer. */
export interface KernelRecorder {
  dispatch(spec: DispatchSpec): void;
  /** A scratch buffer for the dispatches being recorded... */
  scratch(bytes: number): GPUBuffer;
  /** ...handed back as soon as they are recorded (the recorder keeps it alive until they ran). */
  release(buf: GPUBuffer): void;
}

/** Records into the device's open batch; scratch comes from the pool, which reuses a released buffer only after
 * the batch that uses it was submitted. */
export function engineRecorder(dev: GpuDevice): KernelRecorder {
  return {
    dispatch: (spec) => dev.dispatch(spec),
    scratch: (bytes) => dev.createBuffer(bytes, 'matmul-scratch'),
    release: (buf) => dev.releaseBuffer(buf),
  };
}

const generalSources = new Map<string, string>();
const subgroupSources = new Map<string, string>();

function spliced(cache: Map<string, string>, template: string, marks: Record<string, number>): string {
  const key = Object.entries(marks).join();
  let s = cache.get(key);
  if (!s) {
    s = template;
    for (const [k, v] of Object.entries(marks)) s = s.replace(new RegExp(`/\\*${k}\\*/\\d+u`), `${v}u`);
    cache.set(key, s);
  }
  return s;
}

function checkGrid(dev: GpuDevice, dims: MatDims, grid: readonly number[]): void {
  const max = dev.limits.maxComputeWorkgroupsPerDimension;
  if (grid.some((g) => g > max)) {
    throw new Error(
      `matmul: a [${dims.batch}, ${dims.M}, ${dims.K}] x [${dims.batch}, ${dims.K}, ${dims.N}] product needs a ${grid.join('x')} grid, ` +
        `past this device's ${max} workgroups per dimension; split the batch or the matrices`,
    );
  }
}

/**
 * What the kernels add as they store C (flags of the templates; offsets in elements of each binding):
 * `bias` (f32, per column), `res` (a residual laid out like C, of C's type), `accumulate` (C += A·B), and `rowsum`
 * (Σ_k A[row, k] per batch and row, f32, accumulated too with `accumulate`).
 */
export interface MatEpilogue {
  bias?: { buffer: BufferBinding; off: number };
  res?: { buffer: BufferBinding; off: number };
  accumulate?: boolean;
  rowsum?: { buffer: BufferBinding; off: number };
}

function epilogueFlags(e: MatEpilogue): Record<string, boolean> {
  return { BIAS: Boolean(e.bias), RES: Boolean(e.res), ACC: Boolean(e.accumulate), ROWSUM: Boolean(e.rowsum) };
}
function epilogueBuffers(e: MatEpilogue): BufferBinding[] {
  return [e.bias?.buffer, e.res?.buffer, e.rowsum?.buffer].filter((b): b is BufferBinding => b !== undefined);
}

/** True when `x` ([rows, K] by its strides) can be read along `rows` as vec4s in place (the A_T / B_N layouts). */
function rowsContiguous(x: MatOperand): boolean {
  return x.rs === 1 && x.cs % 4 === 0 && x.off % 4 === 0 && x.bs % 4 === 0;
}

/**
 * C (dense [batch, M, N] in `out` from element `outOff`, of type `outDtype`) = A · B with the kernel `cfg`, plus
 * the epilogue. Temporary buffers go back to the pool.
 */
export function runMatmul(
  dev: GpuDevice,
  rec: KernelRecorder,
  config: MatmulConfig,
  A: MatOperand,
  Bt: MatOperand,
  out: BufferBinding,
  dims: MatDims,
  outDtype: DType = 'float32',
  epilogue: MatEpilogue = {},
  outOff = 0,
): void {
  const { batch, M, N, K } = dims;
  // K = 0 gives zeros; the packed kernels would need zero-sized buffers for it.
  const cfg = K === 0 ? DEFAULT_GENERAL : config;
  const flops = 2 * batch * M * N * K;
  const [ta, tb] = [A.dtype ?? 'float32', Bt.dtype ?? 'float32'];
  const types = { AT: ta, BT: tb, CT: outDtype };
  const bytes = batch * (M * K * bytesPerElement(ta) + K * N * bytesPerElement(tb) + M * N * bytesPerElement(outDtype));
  const flags = epilogueFlags(epilogue);
  const tail = [outOff, epilogue.res?.off ?? 0, epilogue.bias?.off ?? 0, epilogue.rowsum?.off ?? 0];
  const extra = epilogueBuffers(epilogue);
  if (cfg.kernel === 'general') {
    const grid = [Math.ceil(N / (cfg.WX * cfg.TN)), Math.ceil(M / (cfg.WY * cfg.TM)), batch];
    checkGrid(dev, dims, grid);
    const source = withFlags(spliced(generalSources, generalTemplate, { TM: cfg.TM, TN: cfg.TN }), flags);
    rec.dispatch({
      name: 'matmul',
      pipeline: dev.pipeline('matmul', withTypes(source, types), { WX: cfg.WX, WY: cfg.WY }),
      buffers: [A.buffer, Bt.buffer, out, ...extra],
      // The general kernel takes B as [K, N]: its row stride is Bᵀ's column stride.
      uniform: new Uint32Array([M, N, K, 0, A.off, A.bs, A.rs, A.cs, Bt.off, Bt.bs, Bt.cs, Bt.rs, ...tail]),
      workgroups: grid as [number, number, number],
      flops,
      bytes,
    });
    return;
  }
  const [tileM, tileN] = cfg.kernel === 'subgroup' ? [8 * cfg.NR, 32] : [4 * cfg.TS, 4 * cfg.TS];
  const grid = [Math.ceil(N / tileN), Math.ceil(M / tileM), batch];
  checkGrid(dev, dims, grid);
  // Two f16 operands on the subgroup kernel: loads of 8 halves (see halfPacked).
  const packedHalf = cfg.kernel === 'subgroup' && ta === 'float16' && tb === 'float16';
  const group = packedHalf ? 8 : 4;
  // The subgroup kernel reads a transposed operand in place (A_T, B_N) instead of packing it along K, unless the
  // operand is already K-contiguous (then it is used in place as packed rows) or both are f16 (half-packed loads).
  const inPlace = (x: MatOperand) => x.cs === 1 && K % group === 0 && x.off % group === 0 && x.rs % group === 0 && x.bs % group === 0;
  const aT = cfg.kernel === 'subgroup' && !packedHalf && !inPlace(A) && rowsContiguous(A);
  const bN = cfg.kernel === 'subgroup' && !packedHalf && !inPlace(Bt) && rowsContiguous(Bt);
  const a = aT ? { buffer: A.buffer, off: A.off / 4, bs: A.bs / 4, rs: A.cs / 4, temp: null } : packRowsK(dev, rec, A, M, K, batch, group);
  const b = bN ? { buffer: Bt.buffer, off: Bt.off / 4, bs: Bt.bs / 4, rs: Bt.cs / 4, temp: null } : packRowsK(dev, rec, Bt, N, K, batch, group);
  const sgFlags = { ...flags, A_T: aT, B_N: bN };
  const pipeline =
    cfg.kernel === 'subgroup'
      ? dev.pipeline(
          'matmul-subgroup',
          packedHalf
            ? halfPacked(withFlags(spliced(subgroupSources, subgroupTemplate, { NR: cfg.NR, KSUB: 2 }), sgFlags), outDtype)
            : withTypes(withFlags(spliced(subgroupSources, subgroupTemplate, { NR: cfg.NR, KSUB: 1 }), sgFlags), types),
        )
      : dev.pipeline('matmul-tiled', withTypes(withFlags(tiledSource, flags), types), { TS: cfg.TS });
  rec.dispatch({
    name: `matmul-${cfg.kernel}`,
    pipeline,
    buffers: [a.buffer, b.buffer, out, ...extra],
    uniform: new Uint32Array([M, N, Math.ceil(K / group), K, a.off, a.bs, a.rs, 0, b.off, b.bs, b.rs, 0, ...tail]),
    workgroups: grid as [number, number, number],
    flops,
    bytes,
  });
  if (a.temp) rec.release(a.temp);
  if (b.temp) rec.release(b.temp);
}

/**
 * An operand as vec4 rows along K (offsets and strides in vec4 units), of the operand's element type; `temp` is a
 * buffer to release after use.
 */
interface PackedOperand {
  buffer: BufferBinding;
  off: number;
  bs: number;
  rs: number;
  temp: GPUBuffer | null;
}

const halfPackedSources = new Map<string, string>();

/**
 * The subgroup kernel with both operands read as vec4<u32> words of packed halves (8 values of K per load), and
 * the output of type `outDtype`. Needs no `enable f16` unless the output is f16.
 */
function halfPacked(template: string, outDtype: DType): string {
  const key = `${template}\u0000${outDtype}`;
  let s = halfPackedSources.get(key);
  if (!s) {
    s = template;
    for (const [from, to] of [
      ['alias AW = vec4<AT>;', 'alias AW = vec4<u32>;'],
      ['alias BW = vec4<BT>;', 'alias BW = vec4<u32>;'],
      ['fn widen_a(v: AW, s: u32) -> vec4<f32> { return vec4<f32>(v); }', 'fn widen_a(v: AW, s: u32) -> vec4<f32> { return unpack_halves(v, s); }'],
      ['fn widen_b(v: BW, s: u32) -> vec4<f32> { return vec4<f32>(v); }', 'fn widen_b(v: BW, s: u32) -> vec4<f32> { return unpack_halves(v, s); }'],
    ]) {
      if (!s.includes(from)) throw new Error(`internal: matmul-subgroup.wgsl declares no '${from}'`);
      s = s.replace(from, to);
    }
    s = withTypes(s, { CT: outDtype });
    halfPackedSources.set(key, s);
  }
  return s;
}

/**
 * `x` as rows along K of groups of `group` (4, or 8 for half-packed loads) elements: in place when it already is
 * (K-contiguous, rows aligned to a group), else a packed, zero-padded copy. Offsets and strides are in groups.
 */
export function packRowsK(dev: GpuDevice, rec: KernelRecorder, x: MatOperand, rows: number, K: number, batch: number, group: 4 | 8 = 4): PackedOperand {
  const g = group;
  if (x.cs === 1 && K % g === 0 && x.off % g === 0 && x.rs % g === 0 && x.bs % g === 0) {
    return { buffer: x.buffer, off: x.off / g, bs: x.bs / g, rs: x.rs / g, temp: null };
  }
  // The pack kernel writes vec4s; a group of 8 is two of them.
  const K4 = Math.ceil(K / g) * (g / 4);
  const nb = x.bs === 0 ? 1 : batch;
  const total = nb * rows * K4;
  const dtype = x.dtype ?? 'float32';
  const bpe = bytesPerElement(dtype);
  const buf = rec.scratch(total * 4 * bpe);
  rec.dispatch({
    name: 'matmul-pack',
    pipeline: dev.pipeline('matmul-pack', withTypes(packSource, { ST: dtype }), { WG: 64 }),
    buffers: [x.buffer, buf],
    uniform: new Uint32Array([rows, K, K4, total, x.off, x.bs, x.rs, x.cs, x.cs !== 1 ? 1 : 0, 0, 0, 0]),
    workgroups: workgroups1d(dev, total, 64),
    bytes: bpe * nb * rows * (K + 4 * K4),
  });
  const rowGroups = K4 / (g / 4);
  return { buffer: buf, off: 0, bs: x.bs === 0 ? 0 : rows * rowGroups, rs: rowGroups, temp: buf };
}
