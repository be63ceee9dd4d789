import type { GpuDevice } from '../../runtime/index.js';

/**
 * Workgroup counts covering `n` invocations of `wg` threads. Past the per-dimension limit (65535 here) the grid
 * folds into y; kernels index as `gid.x + gid.y * num_workgroups.x * WG`.
 */
export function workgroups1d(dev: GpuDevice, n: number, wg: number): [number, number] {
  const groups = Math.ceil(n / wg);
  const max = dev.limits.maxComputeWorkgroupsPerDimension;
  if (groups <= max) return [groups, 1];
  const y = Math.ceil(groups / max);
  if (y > max) throw new Error(`a dispatch of ${n} elements is larger than this device can launch`);
  return [Math.ceil(groups / y), y];
}
