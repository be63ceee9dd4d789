// Adapters without the 'subgroups' feature (older browsers) must get the portable kernels, with the same results.
import { beforeAll, describe, expect, it } from 'vitest';
import { init, conv2d, type GpuDevice } from '../../src/index.js';
import { subgroupUnsupported, useIgemm } from '../../src/ops/conv2d-plan.js';
import { checkOp } from '../helpers/check-op.js';
import { conv2dRef } from '../reference/conv.js';

let dev: GpuDevice;
beforeAll(async () => {
  dev = await init({ disableFeatures: ['subgroups'] });
});

describe('conv2d without subgroups', () => {
  it('falls back to the portable kernels and matches the reference', async () => {
    expect(dev.hasSubgroups).toBe(false);
    expect(subgroupUnsupported(dev)).toMatch(/no 'subgroups' feature/);
    expect(useIgemm(dev, 64, 1)).toBe(false);
    await checkOp('conv2d no subgroups', {
      inputs: [[2, 9, 7, 6], [12, 9, 3, 3], [12]],
      engine: (x, w, b) => conv2d(x, w, b, { padding: 1, stride: [1, 2] }),
      reference: (x, w, b) => conv2dRef(x, w, b, { padding: 1, stride: [1, 2] }),
      grad: true,
      atol: 1e-4,
      rtol: 1e-4,
    });
  });
});
