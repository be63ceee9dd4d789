import { describe, expect, it } from 'vitest';
import { checkRefGrad } from './finite-diff.js';
import { groupNormRef, layerNormRef } from './norm.js';
import { attentionRef } from './attention.js';
import { refOf } from './ref-tensor.js';
import { makeRng, randomRef } from '../helpers/random.js';

const rng = makeRng(11);

describe('reference normalisation and attention', () => {
  it('group norm known values: each group has mean 0 and variance 1 before the affine', () => {
    const x = refOf([[[1, 3], [5, 7], [2, 2], [4, 8]]]); // [1, 4, 2]: groups {1,3,5,7} and {2,2,4,8}
    const y = groupNormRef(x, 2, null, null, 0);
    const g0 = [...y.data.slice(0, 4)];
    expect(g0.reduce((a, b) => a + b)).toBeCloseTo(0, 12);
    expect(g0.reduce((a, b) => a + b * b, 0) / 4).toBeCloseTo(1, 12);
    expect(y.data[0]).toBeCloseTo(-3 / Math.sqrt(5), 12);
  });

  it('attention with one key returns that value; equal scores average the values', () => {
    const q = refOf([[[[1, 2]]]]);
    expect([...attentionRef(q, refOf([[[[3, 4]]]]), refOf([[[[5, 6, 7]]]])).data]).toEqual([5, 6, 7]);
    const avg = attentionRef(refOf([[[[0, 0]]]]), refOf([[[[1, 2], [3, 4]]]]), refOf([[[[2], [4]]]]));
    expect(avg.data[0]).toBeCloseTo(3, 14);
  });

  for (const [groups, C, silu, affine] of [[1, 3, false, true], [2, 4, true, true], [3, 3, false, false], [2, 6, true, false]] as const) {
    it(`group norm backward matches finite differences (groups ${groups}, C ${C}, silu ${silu}, affine ${affine})`, () => {
      const x = randomRef(rng, [2, C, 2, 3]);
      const w = randomRef(rng, [C]);
      const b = randomRef(rng, [C]);
      const f = affine ? (xx: typeof x, ww: typeof x, bb: typeof x) => groupNormRef(xx, groups, ww, bb, 1e-5, silu) : (xx: typeof x) => groupNormRef(xx, groups, null, null, 1e-5, silu);
      checkRefGrad(`groupNorm ${groups}/${C}`, f, affine ? [x, w, b] : [x], { atol: 1e-6, rtol: 1e-5 });
    });
  }

  it('layer norm backward matches finite differences (over the last two dims, with affine)', () => {
    const x = randomRef(rng, [3, 2, 5]);
    checkRefGrad('layerNorm', (xx, ww, bb) => layerNormRef(xx, [2, 5], ww, bb), [x, randomRef(rng, [2, 5]), randomRef(rng, [2, 5])], { atol: 1e-6, rtol: 1e-5 });
  });

  it('attention backward matches finite differences (cross-attention, Dv != Dk)', () => {
    const q = randomRef(rng, [1, 2, 3, 4]);
    const k = randomRef(rng, [1, 2, 5, 4]);
    const v = randomRef(rng, [1, 2, 5, 3]);
    checkRefGrad('attention', (a, b, c) => attentionRef(a, b, c, 0.7), [q, k, v], { atol: 1e-6, rtol: 1e-5 });
  });
});
