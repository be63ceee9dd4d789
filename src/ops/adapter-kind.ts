import type { GpuDevice } from '../../runtime/index.js';

/**
 * A software adapter (lavapipe, SwiftShader, WARP): its "GPU" is CPU SIMD lanes, with no shared memory worth the
 * name, per-lane scalar loads and a fixed cost per workgroup. Kernel choices that differ from real GPUs ask this.
 */
export function isCpuAdapter(dev: GpuDevice): boolean {
  const a = dev.adapter;
  return a.isFallbackAdapter || /software|cpu|swiftshader|llvmpipe|lavapipe|warp/i.test(`${a.architecture} ${a.device} ${a.description}`);
}
