import { getDevice, init } from '../../src/index.js';

/**
 * Whether this adapter runs the float16 suites. Dawn offers 'shader-f16' on lavapipe (the CI adapter, Mesa ≥ 24)
 * but not on NVIDIA's Vulkan driver, which lacks 16-bit shader inputs and outputs (seen on an H200): there the
 * suites skip, and test/core/float16-unsupported.test.ts covers the fallback. On lavapipe a missing feature is a
 * broken setup, not a reason to skip, so it throws.
 */
export async function float16SuitesRun(): Promise<boolean> {
  await init();
  const dev = getDevice();
  if (dev.hasF16) return true;
  const a = dev.adapter;
  if (/llvmpipe|lavapipe/i.test(`${a.architecture} ${a.device} ${a.description}`)) {
    throw new Error("the lavapipe adapter has no 'shader-f16': Mesa ≥ 24 offers it (see scripts/doctor.mjs)");
  }
  return false;
}
