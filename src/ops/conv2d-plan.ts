import type { GpuDevice } from '../../runtime/index.js';
import { shapeStr } from '../tensor/shape.js';
import { isCpuAdapter } from './adapter-kind.js';

/**
 * Convolution policy, below tensors: which kernels run (`useIgemm`), their register tiles, and how large inputs
 * are cut into chunks whose packed copies fit one storage binding (`planChunks`). src/ops/conv2d-kernels.ts
 * has the kernels and the packed layouts.
 */

/** Geometry of one convolution, in PyTorch's terms. */
export interface ConvGeometry {
  N: number;
  Cin: number;
  H: number;
  W: number;
  Cout: number;
  KH: number;
  KW: number;
  OH: number;
  OW: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
  dh: number;
  dw: number;
  groups: number;
}

/**
 * Which kernels run: 'auto' picks the subgroup implicit GEMM on CPU adapters with subgroups (lavapipe) when the pass
 * has at least MIN_IGEMM_CHANNELS output channels per group, else the portable kernels; the others force one
 * (tests, benchmarks). The subgroup kernels' 8-invocation workgroups suit a CPU running 8 lanes per AVX register;
 * on a real GPU they would leave most of each warp idle, so there the portable kernels run.
 */
export type Conv2dPath = 'auto' | 'igemm' | 'portable';
let pathSetting: Conv2dPath = 'auto';
export function setConv2dPath(p: Conv2dPath): void {
  pathSetting = p;
}
export function getConv2dPath(): Conv2dPath {
  return pathSetting;
}
/**
 * Grouped convolutions with fewer output channels per group than this (depthwise and the like) go to the portable
 * kernels: their K is tiny too, and the 32-channel tiles of the igemm kernels would sit mostly idle. Ungrouped ones
 * always take igemm on CPU adapters, even with 1–4 outputs (conv_out's 3 channels, a LoRA-down conv's rank): the
 * portable kernel ran those at 0.4 GFLOP/s on lavapipe, and igemm with 1/8 of its tile busy made a 256² restore with
 * the ×2 RVAE's LoRA convs 20% faster (17.7 → 14.2 s).
 */
const MIN_IGEMM_CHANNELS_GROUPED = 8;


/** Whether the subgroup kernels compute a pass (forward or gradient) with `outChannelsPerGroup` outputs. */
export function useIgemm(dev: GpuDevice, outChannelsPerGroup: number, groups: number): boolean {
  if (pathSetting === 'portable' || subgroupUnsupported(dev)) return false;
  return pathSetting === 'igemm' || (isCpuAdapter(dev) && (groups === 1 || outChannelsPerGroup >= MIN_IGEMM_CHANNELS_GROUPED));
}

/** Buffers the kernels bind whole must fit one storage binding. */
export function assertBindable(op: string, what: string, shape: readonly number[], offset: number, dev: GpuDevice): void {
  const limit = dev.limits.maxStorageBufferBindingSize;
  const bytes = 4 * (offset + shape.reduce((a, d) => a * d, 1));
  if (bytes > limit) {
    throw new Error(
      `${op}: the ${what} ${shapeStr(shape)} takes ${(bytes / 2 ** 20).toFixed(1)} MiB, more than this device's maxStorageBufferBindingSize ` +
        `(${(limit / 2 ** 20).toFixed(0)} MiB); split the batch or tile the image`,
    );
  }
}
/**
 * Register tiles: row groups of 8 pixels per igemm workgroup (1..4) and of 8 k steps per weight-gradient
 * workgroup (1..2). Measured on lavapipe (bench/conv2d.ts); `setConv2dTiles` lets benchmarks try others.
 */
export interface Conv2dTiles {
  igemmNR: number;
  wgradNR: number;
}
const tiles: Conv2dTiles = { igemmNR: 3, wgradNR: 2 };
export function setConv2dTiles(t: Partial<Conv2dTiles>): void {
  if (t.igemmNR !== undefined && !(Number.isInteger(t.igemmNR) && t.igemmNR >= 1 && t.igemmNR <= 4)) throw new Error(`setConv2dTiles: igemmNR must be 1..4, got ${t.igemmNR}`);
  if (t.wgradNR !== undefined && !(Number.isInteger(t.wgradNR) && t.wgradNR >= 1 && t.wgradNR <= 2)) throw new Error(`setConv2dTiles: wgradNR must be 1..2, got ${t.wgradNR}`);
  Object.assign(tiles, t);
}
export function getConv2dTiles(): Conv2dTiles {
  return { ...tiles };
}

/** Why the subgroup kernels cannot run here, or null when they can. */
export function subgroupUnsupported(dev: GpuDevice): string | null {
  if (!dev.hasSubgroups) return "the device has no 'subgroups' feature";
  // The kernels broadcast from lanes 0..7 of a workgroup of 8: a subgroup must hold all of them.
  const min = (dev.device as { adapterInfo?: { subgroupMinSize?: number } }).adapterInfo?.subgroupMinSize;
  if (min !== undefined && min < 8) return `subgroups may have only ${min} invocations`;
  return null;
}

let budgetOverride: number | null = null;
/** Tests: a small budget forces the chunked paths on small tensors (null restores the default). */
export function setConv2dPackBudget(bytes: number | null): void {
  budgetOverride = bytes;
}

/** Bytes one packed buffer may take: the binding limit, capped so chunking also bounds memory use. */
export function packBudget(dev: GpuDevice): number {
  return budgetOverride ?? Math.min(dev.limits.maxStorageBufferBindingSize, 64 * 1024 * 1024);
}

/** A piece of the work: samples n0..n0+nc and output rows r0..r0+rc. */
export interface Chunk {
  n0: number;
  nc: number;
  r0: number;
  rc: number;
}

/**
 * Splits N samples x `rows` output rows so that one chunk's packed input (`bytesPerSample(rowsInChunk)`) fits
 * `budget` and its pixels fit the dispatch grid: whole samples when one fits, else runs of rows of one sample.
 */
export function planChunks(op: string, dev: GpuDevice, N: number, rows: number, width: number, G: number, bytesPerSample: (rc: number) => number): Chunk[] {
  const budget = packBudget(dev);
  const maxGrid = dev.limits.maxComputeWorkgroupsPerDimension;
  const gridRows = Math.max(1, Math.floor((maxGrid * 8 * tiles.igemmNR) / Math.max(1, width)));
  const maxSamples = Math.max(1, Math.floor(maxGrid / G));
  const chunks: Chunk[] = [];
  if (bytesPerSample(rows) <= budget && rows <= gridRows) {
    const per = Math.max(1, Math.min(maxSamples, Math.floor(budget / Math.max(1, bytesPerSample(rows)))));
    for (let n0 = 0; n0 < N; n0 += per) chunks.push({ n0, nc: Math.min(per, N - n0), r0: 0, rc: rows });
    return chunks;
  }
  let rc = Math.min(rows, gridRows);
  while (rc > 1 && bytesPerSample(rc) > budget) rc = Math.max(1, Math.floor(rc / 2));
  if (bytesPerSample(rc) > budget) {
    throw new Error(`${op}: one output row needs a ${(bytesPerSample(1) / 2 ** 20).toFixed(1)} MiB packed input, more than the ${(budget / 2 ** 20).toFixed(0)} MiB this device can bind; use fewer channels or a narrower image`);
  }
  for (let n0 = 0; n0 < N; n0++) for (let r0 = 0; r0 < rows; r0 += rc) chunks.push({ n0, nc: 1, r0, rc: Math.min(rc, rows - r0) });
  return chunks;
}

