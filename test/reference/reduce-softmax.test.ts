import { describe, expect, it } from 'vitest';
import { checkRefGrad } from './finite-diff.js';
import { maxRef, meanRef, minRef, sumRef, varRef } from './reduce.js';
import { logSoftmaxRef, softmaxRef } from './softmax.js';
import { refOf } from './ref-tensor.js';
import { makeRng, randomRef } from '../helpers/random.js';

const AXES: [number | number[] | undefined, boolean][] = [
  [undefined, false],
  [0, false],
  [-1, true],
  [[0, 2], false],
  [[2, 0], true],
  [[0, 1, 2], true],
];

const rng = makeRng(7);

describe('reference reductions', () => {
  it('known values', () => {
    const x = refOf([
      [1, 5, 3],
      [4, 2, 6],
    ]);
    expect(sumRef(x, 1).data).toEqual(Float64Array.from([9, 12]));
    expect(sumRef(x, 0, true).shape).toEqual([1, 3]);
    expect(meanRef(x).data).toEqual(Float64Array.from([3.5]));
    expect(maxRef(x, 0).data).toEqual(Float64Array.from([4, 5, 6]));
    expect(minRef(x, -1, true).data).toEqual(Float64Array.from([1, 2]));
    expect(varRef(x, 1).data).toEqual(Float64Array.from([4, 4]));
    expect(varRef(x, 1, false, 0).data[0]).toBeCloseTo(8 / 3, 15);
    expect(maxRef(refOf([1, NaN, 3])).data[0]).toBeNaN();
    expect(sumRef(refOf([[1, 2]]), []).shape).toEqual([1, 2]);
  });

  it('max/min gradient splits evenly among ties', () => {
    const x = refOf([2, 7, 7, 1, 7]);
    const y = maxRef(x);
    const g = y.node!.vjp(refOf(3))[0]!;
    expect([...g.data]).toEqual([0, 1, 1, 0, 1]);
  });

  for (const [name, f] of [
    ['sum', sumRef],
    ['mean', meanRef],
    ['max', maxRef],
    ['min', minRef],
    ['var', varRef],
  ] as const) {
    it(`${name} backward matches finite differences over several axis sets`, () => {
      for (const [axes, keepdim] of AXES) {
        const x = randomRef(rng, [3, 2, 4]);
        checkRefGrad(`${name} axes=${JSON.stringify(axes)} keepdim=${keepdim}`, (t) => f(t, axes, keepdim), [x]);
      }
    });
  }

  it('var with correction 0 backward matches finite differences', () => {
    checkRefGrad('var c=0', (t) => varRef(t, 1, false, 0), [randomRef(rng, [2, 5])]);
  });
});

describe('reference softmax', () => {
  it('known values, stable for large inputs', () => {
    const y = softmaxRef(refOf([0, Math.log(3)]));
    expect(y.data[0]).toBeCloseTo(0.25, 15);
    const big = softmaxRef(refOf([1000, 1000, -1000]));
    expect([...big.data]).toEqual([0.5, 0.5, 0]);
    expect(logSoftmaxRef(refOf([1000, 1000])).data[0]).toBeCloseTo(-Math.log(2), 12);
  });

  for (const [name, f] of [
    ['softmax', softmaxRef],
    ['logSoftmax', logSoftmaxRef],
  ] as const) {
    it(`${name} backward matches finite differences on every axis`, () => {
      for (const dim of [0, 1, -1]) checkRefGrad(`${name} dim ${dim}`, (t) => f(t, dim), [randomRef(rng, [3, 4, 5])]);
    });
  }
});
