import { describe, expect, it } from 'vitest';
import { BINARY, UNARY, type BinaryName, type UnaryName } from '../../src/ops/elementwise-table.js';
import { BINARY_REF, UNARY_REF, binaryRef, erf, unaryRef, whereRef } from './elementwise.js';
import { checkRefGrad } from './finite-diff.js';
import { ref, refOf } from './ref-tensor.js';
import { makeRng, randomRef, seedOf } from '../helpers/random.js';

/** Inputs on each op's smooth domain (positive where it needs one), with scalar parameters. */
const UNARY_DOMAIN: Partial<Record<UnaryName, { lo: number; hi: number; scalars?: number[] }>> = {
  log: { lo: 0.25, hi: 2 },
  sqrt: { lo: 0.25, hi: 2 },
  rsqrt: { lo: 0.25, hi: 2 },
  reciprocal: { lo: 0.25, hi: 2 },
  rdivScalar: { lo: 0.25, hi: 2, scalars: [1.7] },
  powScalar: { lo: 0.25, hi: 2, scalars: [2.5] },
  clamp: { lo: -2, hi: 2, scalars: [-0.5, 0.75] },
  addScalar: { lo: -2, hi: 2, scalars: [0.3] },
  mulScalar: { lo: -2, hi: 2, scalars: [-1.25] },
  rsubScalar: { lo: -2, hi: 2, scalars: [3] },
};

describe('reference elementwise ops', () => {
  it('has a reference for every engine op', () => {
    expect(Object.keys(UNARY_REF).sort()).toEqual(Object.keys(UNARY).sort());
    expect(Object.keys(BINARY_REF).sort()).toEqual(Object.keys(BINARY).sort());
    // A reference has a derivative exactly where the engine records a backward rule.
    for (const op of Object.keys(UNARY) as UnaryName[]) expect(Boolean(UNARY_REF[op].df), op).toBe('bwd' in UNARY[op]);
    for (const op of Object.keys(BINARY) as BinaryName[]) expect(Boolean(BINARY_REF[op].da), op).toBe('bwd' in BINARY[op]);
  });

  it('erf matches tabulated values', () => {
    const table: [number, number][] = [
      [0, 0],
      [0.1, 0.1124629160182849],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [2, 0.9953222650189527],
      [2.5, 0.999593047982555],
      [3, 0.9999779095030014],
      [3.5, 0.9999992569016276],
      [-1.5, -0.9661051464753108],
    ];
    for (const [x, v] of table) expect(erf(x)).toBeCloseTo(v, 14);
  });

  it('known values', () => {
    const x = refOf([-1, 0, 1]);
    expect([...unaryRef('gelu', x).data]).toEqual([-0.15865525393145707, 0, 0.8413447460685429].map((v) => expect.closeTo(v, 14)));
    expect([...unaryRef('softplus', x).data].map((v) => +v.toFixed(12))).toEqual([0.313261687518, 0.69314718056, 1.313261687518]);
    expect([...binaryRef('pow', refOf([-2, -2, 0, 0, 4]), refOf([3, 0.5, 0, -1, 0.5])).data]).toEqual([-8, NaN, 1, Infinity, 2]);
  });

  for (const op of Object.keys(UNARY) as UnaryName[]) {
    if (!UNARY_REF[op].df) continue;
    it(`${op} backward matches finite differences`, () => {
      const d = UNARY_DOMAIN[op] ?? { lo: -2, hi: 2 };
      const x = randomRef(makeRng(seedOf(op)), [3, 5], d.lo, d.hi);
      checkRefGrad(op, (t) => unaryRef(op, t, d.scalars), [x]);
    });
  }

  const shapes: [number[], number[]][] = [
    [[3, 4], [3, 4]],
    [[2, 1, 4], [3, 1]],
    [[5], [2, 3, 5]],
    [[], [2, 3]],
  ];
  for (const op of Object.keys(BINARY) as BinaryName[]) {
    if (!BINARY_REF[op].da) continue;
    it(`${op} backward (with broadcasting) matches finite differences`, () => {
      const rng = makeRng(seedOf(op));
      for (const [sa, sb] of shapes) {
        // pow needs a > 0 for a real d/db; div keeps b away from 0.
        const a = randomRef(rng, sa, op === 'pow' ? 0.25 : -2, 2);
        const b = randomRef(rng, sb, op === 'div' ? 0.5 : -2, 2);
        checkRefGrad(`${op} [${sa}] [${sb}]`, (x, y) => binaryRef(op, x, y), [a, b]);
      }
    });
  }

  it('where backward matches finite differences (cond gets none)', () => {
    const rng = makeRng(1);
    const cond = ref([3, 1], [1, 0, 1]);
    const a = randomRef(rng, [3, 4]);
    const b = randomRef(rng, [4]);
    checkRefGrad('where', whereRef, [cond, a, b], { wrt: [1, 2] });
    expect([...whereRef(cond, a, b).data.slice(4, 8)]).toEqual([...b.data]);
  });
});
