import type { Tensor } from '../../src/index.js';

/** Largest absolute elementwise difference between two tensors of the same size (read back from the GPU). */
export async function maxDiff(a: Tensor, b: Tensor): Promise<number> {
  const [x, y] = [await a.data(), await b.data()];
  return x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0);
}
