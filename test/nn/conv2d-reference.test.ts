// The float64 references' hand-written backward passes against central finite differences, so the engine's
// gradients are compared with something that is itself checked.
import { describe, it } from 'vitest';
import { checkRefGrad } from '../reference/finite-diff.js';
import { conv2dRef, type ConvRefOptions } from '../reference/conv.js';
import { avgPool2dRef, upsampleNearest2dRef } from '../reference/resample.js';
import { makeRng, randomRef } from '../helpers/random.js';

describe('float64 references: backward vs finite differences', () => {
  const cases: [string, number[], number[], boolean, ConvRefOptions][] = [
    ['3x3 pad 1 batch 2', [2, 2, 4, 5], [3, 2, 3, 3], true, { padding: 1 }],
    ['stride 2 dilation 2', [1, 2, 7, 6], [2, 2, 3, 3], false, { stride: 2, dilation: 2, padding: 1 }],
    ['groups 2 with [h, w] pairs', [1, 4, 5, 6], [4, 2, 2, 3], true, { groups: 2, stride: [1, 2], padding: [1, 0] }],
  ];
  for (const [name, xs, ws, bias, o] of cases) {
    it(`conv2d ${name}`, () => {
      const rng = makeRng(7);
      const inputs = [randomRef(rng, xs, -1, 1), randomRef(rng, ws, -1, 1), ...(bias ? [randomRef(rng, [ws[0]], -1, 1)] : [])];
      checkRefGrad(`conv2d ${name}`, (x, w, b) => conv2dRef(x, w, b ?? null, o), inputs, { atol: 1e-7, rtol: 1e-6 });
    });
  }

  it('upsampleNearest2d and avgPool2d', () => {
    const rng = makeRng(8);
    checkRefGrad('upsample', (x) => upsampleNearest2dRef(x, [2, 3]), [randomRef(rng, [1, 2, 3, 2], -1, 1)]);
    checkRefGrad('avgpool', (x) => avgPool2dRef(x, 3, 2, 1), [randomRef(rng, [1, 2, 5, 6], -1, 1)]);
  });
});
