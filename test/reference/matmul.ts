/**
 * Float64 matmul with NumPy semantics: a 1-D left operand is a row [1, K], a 1-D right operand a column [K, 1]
 * (the added axis is dropped from the result), and batch axes broadcast. The triple loop is the definition.
 */
import { broadcastIndex, broadcastShape, numel, recordRef, ref, unravel, type RefTensor } from './ref-tensor.js';

export function matmulRef(a: RefTensor, b: RefTensor): RefTensor {
  if (a.shape.length === 0 || b.shape.length === 0) throw new Error('matmulRef: 0-d operand');
  const aShape = a.shape.length === 1 ? [1, a.shape[0]] : a.shape;
  const bShape = b.shape.length === 1 ? [b.shape[0], 1] : b.shape;
  const [M, K] = aShape.slice(-2);
  const [K2, N] = bShape.slice(-2);
  if (K !== K2) throw new Error(`matmulRef: inner dims ${K} vs ${K2}`);
  const aBatch = aShape.slice(0, -2);
  const bBatch = bShape.slice(0, -2);
  const batch = broadcastShape(aBatch, bBatch);
  const nb = numel(batch);
  // Flat offset of each operand's matrix for every output batch index.
  const aOff: number[] = [];
  const bOff: number[] = [];
  for (let t = 0; t < nb; t++) {
    const idx = unravel(t, batch);
    aOff.push(broadcastIndex(idx, aBatch) * M * K);
    bOff.push(broadcastIndex(idx, bBatch) * K * N);
  }
  const y = ref([...batch, M, N]);
  for (let t = 0; t < nb; t++)
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc += a.data[aOff[t] + i * K + k] * b.data[bOff[t] + k * N + j];
        y.data[(t * M + i) * N + j] = acc;
      }
  const outShape = [...batch, ...(a.shape.length === 1 ? [] : [M]), ...(b.shape.length === 1 ? [] : [N])];
  const out = ref(outShape, y.data);
  return recordRef(out, 'matmul', [a, b], (g) => {
    // dA[i,k] += g[i,j] B[k,j] and dB[k,j] += A[i,k] g[i,j]; broadcast batches add into the same matrix.
    const da = ref(a.shape);
    const db = ref(b.shape);
    for (let t = 0; t < nb; t++)
      for (let i = 0; i < M; i++)
        for (let j = 0; j < N; j++) {
          const gv = g.data[(t * M + i) * N + j];
          for (let k = 0; k < K; k++) {
            da.data[aOff[t] + i * K + k] += gv * b.data[bOff[t] + k * N + j];
            db.data[bOff[t] + k * N + j] += a.data[aOff[t] + i * K + k] * gv;
          }
        }
    return [da, db];
  });
}
