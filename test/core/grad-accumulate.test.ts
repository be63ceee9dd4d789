// A tensor used by several ops gets its gradient summed: the rules of linear, layer and group norm and the
// elementwise ops add their share straight into the gradient already collected (their kernels' accumulate
// epilogues) instead of writing a new tensor that a separate kernel adds. Checked against the float64 reference,
// and by the absence of any separate accumulation launch.
import { beforeAll, describe, expect, it } from 'vitest';
import { getDevice, groupNorm, init, layerNorm, linear, tensor } from '../../src/index.js';
import { checkOp } from '../helpers/check-op.js';
import { binaryRef, unaryRef } from '../reference/elementwise.js';
import { groupNormRef, layerNormRef } from '../reference/norm.js';
import { matmulRef } from '../reference/matmul.js';
import { transposeRef } from '../reference/shape.js';
import { sumRef } from '../reference/reduce.js';

beforeAll(async () => {
  await init();
});

describe('gradients summed in place by the rules that produce them', () => {
  it('x feeding silu, layerNorm, groupNorm and linear: every share added by its own kernel', async () => {
    const dev = getDevice();
    const names: string[] = [];
    const orig = dev.dispatch.bind(dev);
    dev.dispatch = (spec) => {
      names.push(spec.name);
      orig(spec);
    };
    try {
      await checkOp('multi-use x', {
        inputs: [[6, 8, 4], [5, 4], [5], [8], [8]],
        engine: (x, w, b, gw, gb) =>
          linear(x, w, b).sum().add(layerNorm(x, [4]).square().sum()).add(groupNorm(x, 2, gw, gb).square().sum()).add(x.silu().sum()),
        reference: (x, w, b, gw, gb) => {
          const lin = binaryRef('add', matmulRef(x, transposeRef(w)), b);
          const sq = (t: typeof x) => sumRef(unaryRef('square', t));
          const parts = [sumRef(lin), sq(layerNormRef(x, [4], null, null)), sq(groupNormRef(x, 2, gw, gb)), sumRef(unaryRef('silu', x))];
          return parts.reduce((a, c) => binaryRef('add', a, c));
        },
        grad: true,
        atol: 1e-4,
        rtol: 1e-4,
      });
    } finally {
      dev.dispatch = orig;
    }
    expect(names).not.toContain('accumulate');
  });

  it('a passthrough gradient (a residual, a product of x with itself) is still summed correctly', async () => {
    await checkOp('residual and x·x', {
      inputs: [[6, 8], [8, 8], [8]],
      engine: (x, w, b) => linear(x, w, b, { residual: x }).add(x.mul(x)),
      reference: (x, w, b) => binaryRef('add', binaryRef('add', binaryRef('add', matmulRef(x, transposeRef(w)), b), x), binaryRef('mul', x, x)),
      grad: true,
      atol: 1e-4,
      rtol: 1e-4,
    });
  });

  it('a weight used by two linear layers: the second dW and dB are added into the first', async () => {
    await checkOp('shared weight', {
      inputs: [[5, 8], [8, 8], [8]],
      engine: (x, w, b) => linear(linear(x, w, b), w, b),
      reference: (x, w, b) => {
        const lin = (v: typeof x) => binaryRef('add', matmulRef(v, transposeRef(w)), b);
        return lin(lin(x));
      },
      grad: true,
      atol: 1e-4,
      rtol: 1e-4,
    });
    tensor([0]).dispose();
  });
});
