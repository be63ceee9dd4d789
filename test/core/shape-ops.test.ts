import { beforeAll, describe, expect, it } from 'vitest';
import { concat, init, tensor, zeros } from '../../src/index.js';
import { checkOp } from '../helpers/check-op.js';
import { unaryRef } from '../reference/elementwise.js';
import {
  concatRef, expandRef, flattenRef, identityRef, indexSelectRef, padRef, permuteRef, reshapeRef, sliceRef, squeezeRef,
  transposeRef, unsqueezeRef,
} from '../reference/shape.js';

beforeAll(async () => {
  await init();
});

describe('view and copy ops against the float64 reference', () => {
  it('reshape (with -1, of contiguous and strided inputs)', async () => {
    await checkOp('reshape [3,7,33] -> [21,-1]', { inputs: [[3, 7, 33]], engine: (x) => x.reshape([21, -1]), reference: (x) => reshapeRef(x, [21, -1]), grad: true });
    await checkOp('reshape to 0-d', { inputs: [[1, 1]], engine: (x) => x.reshape([]), reference: (x) => reshapeRef(x, []), grad: true });
    await checkOp('reshape of a permuted view', {
      inputs: [[3, 7, 5]],
      engine: (x) => x.permute([2, 0, 1]).reshape([5, 21]),
      reference: (x) => reshapeRef(permuteRef(x, [2, 0, 1]), [5, 21]),
      grad: true,
    });
  });

  it('permute and transpose', async () => {
    await checkOp('permute 4-d', { inputs: [[2, 3, 5, 7]], engine: (x) => x.permute([3, 1, 0, 2]).contiguous(), reference: (x) => permuteRef(x, [3, 1, 0, 2]), grad: true });
    await checkOp('transpose(0, -1)', { inputs: [[4, 3, 6]], engine: (x) => x.transpose(0, -1), reference: (x) => transposeRef(x, 0, -1), grad: true });
    await checkOp('.T', { inputs: [[33, 65]], engine: (x) => x.T, reference: (x) => transposeRef(x), grad: true });
    await checkOp('permute of a permute', {
      inputs: [[2, 3, 4]],
      engine: (x) => x.permute([1, 2, 0]).permute([2, 0, 1]).exp(),
      reference: (x) => unaryRef('exp', permuteRef(permuteRef(x, [1, 2, 0]), [2, 0, 1])),
      grad: true,
    });
  });

  it('slice: positive, negative, clamped, empty, and of views', async () => {
    const cases: [number, number, number | undefined][] = [
      [0, 1, 3],
      [1, -5, -1],
      [2, 3, undefined],
      [2, -100, 100],
      [1, 4, 2],
    ];
    for (const [axis, start, end] of cases) {
      await checkOp(`slice(${axis}, ${start}, ${end})`, {
        inputs: [[4, 7, 9]],
        engine: (x) => x.slice(axis, start, end),
        reference: (x) => sliceRef(x, axis, start, end),
        grad: true,
      });
    }
    await checkOp('slice of a slice of a transpose', {
      inputs: [[9, 8]],
      engine: (x) => x.T.slice(0, 2, 7).slice(1, 1, -1).mul(2),
      reference: (x) => unaryRef('mulScalar', sliceRef(sliceRef(transposeRef(x), 0, 2, 7), 1, 1, -1), [2]),
      grad: true,
    });
  });

  it('expand on every axis and to new leading axes; gradients sum back', async () => {
    await checkOp('expand [3,1,1] -> [2,3,4,5]', { inputs: [[3, 1, 1]], engine: (x) => x.expand([2, 3, 4, 5]), reference: (x) => expandRef(x, [2, 3, 4, 5]), grad: true });
    await checkOp('expand [1,5] -> [6,-1]', { inputs: [[1, 5]], engine: (x) => x.expand([6, -1]).exp(), reference: (x) => unaryRef('exp', expandRef(x, [6, -1])), grad: true });
    await checkOp('expand 0-d', { inputs: [[]], engine: (x) => x.expand([3, 2]), reference: (x) => expandRef(x, [3, 2]), grad: true });
  });

  it('unsqueeze, squeeze, flatten', async () => {
    await checkOp('unsqueeze(-1)', { inputs: [[3, 4]], engine: (x) => x.unsqueeze(-1), reference: (x) => unsqueezeRef(x, -1), grad: true });
    await checkOp('squeeze()', { inputs: [[1, 3, 1, 4]], engine: (x) => x.squeeze(), reference: (x) => squeezeRef(x), grad: true });
    await checkOp('squeeze(2)', { inputs: [[1, 3, 1, 4]], engine: (x) => x.squeeze(2), reference: (x) => squeezeRef(x, 2), grad: true });
    await checkOp('squeeze(1) of a non-1 axis keeps it', { inputs: [[1, 3]], engine: (x) => x.squeeze(1), reference: (x) => squeezeRef(x, 1) });
    await checkOp('flatten(1)', { inputs: [[2, 3, 4, 5]], engine: (x) => x.flatten(1), reference: (x) => flattenRef(x, 1), grad: true });
    await checkOp('flatten(1, 2) of a transpose', { inputs: [[2, 3, 4, 5]], engine: (x) => x.transpose(1, 3).flatten(1, 2), reference: (x) => flattenRef(transposeRef(x, 1, 3), 1, 2), grad: true });
  });

  it('concat along every axis, of views, with an input that needs no gradient', async () => {
    for (const axis of [0, 1, -1]) {
      const shapes = [0, 1, 2].map((k) => [2, 3, 4].map((d, i) => (i === (axis + 3) % 3 ? d + k : d)));
      await checkOp(`concat axis ${axis}`, { inputs: shapes, engine: (a, b, c) => concat([a, b, c], axis), reference: (a, b, c) => concatRef([a, b, c], axis), grad: true });
    }
    await checkOp('concat of views', {
      inputs: [[5, 3], [3, 2], { shape: [3, 4], grad: false }],
      engine: (a, b, c) => a.T.concat([b, c], 1),
      reference: (a, b, c) => concatRef([transposeRef(a), b, c], 1),
      grad: true,
    });
  });

  it('pad with a value on one, two and three axes', async () => {
    await checkOp('pad last axis', { inputs: [[3, 5]], engine: (x) => x.pad([2, 1]), reference: (x) => padRef(x, [2, 1]), grad: true });
    await checkOp('pad two axes with 0.5', { inputs: [[2, 3, 5]], engine: (x) => x.pad([1, 0, 0, 3], 0.5), reference: (x) => padRef(x, [1, 0, 0, 3], 0.5), grad: true });
    await checkOp('pad three axes of a view', {
      inputs: [[4, 3, 2]],
      engine: (x) => x.permute([2, 1, 0]).pad([1, 1, 2, 2, 1, 0], -1),
      reference: (x) => padRef(permuteRef(x, [2, 1, 0]), [1, 1, 2, 2, 1, 0], -1),
      grad: true,
    });
  });

  it('contiguous, clone and detach', async () => {
    await checkOp('contiguous of a transpose', { inputs: [[7, 33]], engine: (x) => x.T.contiguous(), reference: (x) => identityRef(transposeRef(x)), grad: true });
    await checkOp('clone', { inputs: [[7, 5]], engine: (x) => x.clone(), reference: identityRef, grad: true });
    await checkOp('clone of a view', { inputs: [[7, 5]], engine: (x) => x.slice(1, 1, 4).clone(), reference: (x) => identityRef(sliceRef(x, 1, 1, 4)), grad: true });
    await checkOp('detach', { inputs: [[3, 4]], engine: (x) => x.detach().exp(), reference: (x) => unaryRef('exp', x) });
  });

  it('indexSelect: repeats, every axis, strided input, empty index list', async () => {
    await checkOp('indexSelect axis 0 with repeats', { inputs: [[5, 7]], engine: (x) => x.indexSelect(0, [4, 0, 4, 4, 2]), reference: (x) => indexSelectRef(x, 0, [4, 0, 4, 4, 2]), grad: true });
    await checkOp('indexSelect axis 1', { inputs: [[3, 33, 4]], engine: (x) => x.indexSelect(1, [32, 0, 17]), reference: (x) => indexSelectRef(x, 1, [32, 0, 17]), grad: true });
    await checkOp('indexSelect axis -1 of a transpose', {
      inputs: [[9, 4]],
      engine: (x) => x.T.indexSelect(-1, [8, 8, 1]),
      reference: (x) => indexSelectRef(transposeRef(x), -1, [8, 8, 1]),
      grad: true,
    });
    await checkOp('indexSelect of an offset view', {
      inputs: [[6, 5]],
      engine: (x) => x.slice(0, 2, 6).indexSelect(0, [3, 1]),
      reference: (x) => indexSelectRef(sliceRef(x, 0, 2, 6), 0, [3, 1]),
      grad: true,
    });
    await checkOp('indexSelect with no indices', { inputs: [[4, 3]], engine: (x) => x.indexSelect(0, []), reference: (x) => indexSelectRef(x, 0, []) });
  });

  it('errors name the op and the shapes', () => {
    const x = zeros([2, 3]);
    const y = zeros([3, 3]);
    expect(() => x.reshape([4, 2])).toThrow('reshape: cannot reshape a tensor of shape [2,3] (6 elements) to [4,2]');
    expect(() => x.permute([0, 0])).toThrow(/permute: dims \[0,0\] repeat an axis/);
    expect(() => x.expand([4, 3, 5])).toThrow(/expand: cannot expand shape \[2,3\] to \[4,3,5\]/);
    expect(() => concat([x, y], 1)).toThrow('concat: shapes [2,3], [3,3] differ outside axis 1');
    expect(() => x.indexSelect(1, [0, 3])).toThrow('indexSelect: index 3 is out of range for an axis of length 3');
    expect(() => x.pad([1])).toThrow(/pad: pads \[1\] must be \(before, after\) pairs/);
    expect(() => tensor([1, 2, 3], [2, 2])).toThrow(/3 values do not fill shape \[2,2\]/);
    [x, y].forEach((t) => t.dispose());
  });
});
