// pointwiseLinear between feature layouts (NCHW channels and [B, P, C] tokens), with bias and residual, against the
// float64 reference built from matmul and permutes.
import { beforeAll, describe, it } from 'vitest';
import { init, pointwiseLinear } from '../../src/index.js';
import { checkOp } from '../helpers/check-op.js';
import { binaryRef } from '../reference/elementwise.js';
import { matmulRef } from '../reference/matmul.js';
import { permuteRef, reshapeRef, transposeRef } from '../reference/shape.js';
import type { RefTensor } from '../reference/ref-tensor.js';
import type { FeatureLayout } from '../../src/ops/linear-layout.js';

beforeAll(async () => {
  await init();
});

const [B, H, W, IN, OUT] = [2, 3, 5, 8, 12];
const P = H * W;
const toTokens = (x: RefTensor, layout: FeatureLayout, F: number) => (layout === 'tokens' ? x : permuteRef(reshapeRef(x, [B, F, P]), [0, 2, 1]));
const fromTokens = (y: RefTensor, layout: FeatureLayout, F: number) => (layout === 'tokens' ? y : reshapeRef(permuteRef(y, [0, 2, 1]), [B, F, H, W]));
const shapeOf = (layout: FeatureLayout, F: number) => (layout === 'tokens' ? [B, P, F] : [B, F, H, W]);

describe('pointwiseLinear', () => {
  for (const from of ['channels', 'tokens'] as const) {
    for (const to of ['channels', 'tokens'] as const) {
      it(`${from} → ${to}: forward and gradients of x, W, b and the residual`, async () => {
        await checkOp(`pointwise ${from}->${to}`, {
          inputs: [shapeOf(from, IN), [OUT, IN], [OUT], shapeOf(to, OUT)],
          engine: (x, w, b, r) => pointwiseLinear(x, w, b, { from, to, spatial: [H, W], residual: r }),
          reference: (x, w, b, r) => binaryRef('add', fromTokens(binaryRef('add', matmulRef(toTokens(x, from, IN), transposeRef(w)), b), to, OUT), r),
          grad: true,
          atol: 1e-4,
          rtol: 1e-4,
        });
      });
    }
  }
});
