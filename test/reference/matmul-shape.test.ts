import { describe, expect, it } from 'vitest';
import { checkRefGrad } from './finite-diff.js';
import { matmulRef } from './matmul.js';
import { refOf } from './ref-tensor.js';
import {
  concatRef, expandRef, flattenRef, indexSelectRef, padRef, permuteRef, reshapeRef, sliceRef, squeezeRef, transposeRef, unsqueezeRef,
} from './shape.js';
import { unaryRef } from './elementwise.js';
import { makeRng, randomRef } from '../helpers/random.js';

const rng = makeRng(11);

describe('reference matmul', () => {
  it('known values and 1-D promotion', () => {
    const a = refOf([
      [1, 2],
      [3, 4],
    ]);
    const b = refOf([
      [5, 6],
      [7, 8],
    ]);
    expect([...matmulRef(a, b).data]).toEqual([19, 22, 43, 50]);
    const v = refOf([1, 1]);
    expect(matmulRef(v, b).shape).toEqual([2]);
    expect([...matmulRef(v, b).data]).toEqual([12, 14]);
    expect([...matmulRef(a, v).data]).toEqual([3, 7]);
    expect(matmulRef(v, v).shape).toEqual([]);
    expect(matmulRef(randomRef(rng, [3, 1, 5, 9]), randomRef(rng, [4, 9, 2])).shape).toEqual([3, 4, 5, 2]);
  });

  const cases: [number[], number[]][] = [
    [[3, 4], [4, 5]],
    [[2, 1, 3, 4], [3, 4, 2]],
    [[4], [2, 4, 3]],
    [[2, 3], [3]],
    [[4], [4]],
    [[1, 1], [1, 1]],
  ];
  for (const [sa, sb] of cases) {
    it(`backward matches finite differences for [${sa}] x [${sb}]`, () => {
      checkRefGrad(`matmul [${sa}] [${sb}]`, matmulRef, [randomRef(rng, sa), randomRef(rng, sb)]);
    });
  }

  it('composes through the tape (transposed operand)', () => {
    checkRefGrad('matmul(aᵀ, b)', (a, b) => matmulRef(transposeRef(a), b), [randomRef(rng, [4, 3]), randomRef(rng, [4, 2])]);
  });
});

describe('reference shape ops', () => {
  const x = () => randomRef(rng, [2, 3, 4]);
  const cases: [string, (t: ReturnType<typeof x>) => ReturnType<typeof x>][] = [
    ['reshape', (t) => reshapeRef(t, [4, -1])],
    ['permute', (t) => permuteRef(t, [2, 0, 1])],
    ['transpose', (t) => transposeRef(t, 0, -1)],
    ['slice', (t) => sliceRef(t, 1, 1, 3)],
    ['slice negative', (t) => sliceRef(t, -1, -3, -1)],
    ['expand', (t) => expandRef(sliceRef(t, 1, 0, 1), [5, 2, 3, 4])],
    ['unsqueeze/squeeze', (t) => squeezeRef(unsqueezeRef(t, 1), 1)],
    ['flatten', (t) => flattenRef(t, 1)],
    ['pad', (t) => padRef(t, [1, 2, 0, 1], 0.5)],
    ['indexSelect with repeats', (t) => indexSelectRef(t, 2, [3, 0, 3, 3, 1])],
    ['exp of a view', (t) => unaryRef('exp', transposeRef(t, 0, 1))],
  ];
  for (const [name, f] of cases) it(`${name} backward matches finite differences`, () => checkRefGrad(name, f, [x()]));

  it('concat backward matches finite differences', () => {
    checkRefGrad('concat', (a, b, c) => concatRef([a, b, c], 1), [randomRef(rng, [2, 1, 3]), randomRef(rng, [2, 4, 3]), randomRef(rng, [2, 2, 3])]);
  });

  it('known values', () => {
    const t = refOf([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect([...transposeRef(t).data]).toEqual([1, 4, 2, 5, 3, 6]);
    expect([...sliceRef(t, 1, -2).data]).toEqual([2, 3, 5, 6]);
    expect(sliceRef(t, 1, 5, 9).shape).toEqual([2, 0]);
    expect([...padRef(refOf([1, 2]), [1, 2], 9).data]).toEqual([9, 1, 2, 9, 9]);
    expect([...indexSelectRef(t, 0, [1, 1, 0]).data]).toEqual([4, 5, 6, 4, 5, 6, 1, 2, 3]);
    expect([...concatRef([t, refOf([[7], [8]])], 1).data]).toEqual([1, 2, 3, 7, 4, 5, 6, 8]);
    expect([...expandRef(refOf([[1], [2]]), [2, 3]).data]).toEqual([1, 1, 1, 2, 2, 2]);
  });
});
