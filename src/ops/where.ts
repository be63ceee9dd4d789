import { record } from '../autograd/graph.js';
import type { Tensor } from '../tensor/tensor.js';
import { broadcastShapes } from '../tensor/shape.js';
import { sumToShape } from './binary.js';
import { runMap } from './map-kernel.js';

/** `cond ? a : b` elementwise (cond nonzero = true), with broadcasting over all three. */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShapes('where', cond.shape, a.shape, b.shape);
  const y = runMap('where', ['c', 'a', 'b'], 'select(b, a, c != 0.0)', [cond, a, b], shape);
  return record(
    'where',
    y,
    [null, a, b],
    (g, [c]) => {
      const pick = (expr: string, target: Tensor, tag: string) => {
        if (!target.requiresGrad) return null;
        const full = runMap(`where_backward_${tag}`, ['g', 'c'], expr, [g, c], shape);
        const r = sumToShape(full, target.shape);
        if (r !== full) full.dispose();
        return r;
      };
      return [null, pick('select(0.0, g, c != 0.0)', a, 'a'), pick('select(g, 0.0, c != 0.0)', b, 'b')];
    },
    [cond],
  );
}
