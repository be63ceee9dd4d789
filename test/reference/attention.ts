/**
 * Float64 scaled dot-product attention on [B, H, L, D]: O = softmax(scale · Q Kᵀ) V per (batch, head), with the
 * textbook backward: dV = Pᵀ dO, dP = dO Vᵀ, dS = P ⊙ (dP - rowsum(dP ⊙ P)), dQ = scale dS K, dK = scale dSᵀ Q.
 */
import { recordRef, ref, type RefTensor } from './ref-tensor.js';

export function attentionRef(q: RefTensor, k: RefTensor, v: RefTensor, scale = 1 / Math.sqrt(q.shape[3])): RefTensor {
  const [B, H, Lq, Dk] = q.shape;
  const [Lk, Dv] = [k.shape[2], v.shape[3]];
  const BH = B * H;
  const P = new Float64Array(BH * Lq * Lk);
  const out = ref([B, H, Lq, Dv]);
  for (let t = 0; t < BH; t++)
    for (let i = 0; i < Lq; i++) {
      const row = P.subarray((t * Lq + i) * Lk, (t * Lq + i + 1) * Lk);
      for (let j = 0; j < Lk; j++) {
        let s = 0;
        for (let c = 0; c < Dk; c++) s += q.data[(t * Lq + i) * Dk + c] * k.data[(t * Lk + j) * Dk + c];
        row[j] = scale * s;
      }
      const m = Math.max(...row);
      let sum = 0;
      for (let j = 0; j < Lk; j++) sum += row[j] = Math.exp(row[j] - m);
      for (let j = 0; j < Lk; j++) row[j] /= sum;
      for (let c = 0; c < Dv; c++) {
        let o = 0;
        for (let j = 0; j < Lk; j++) o += row[j] * v.data[(t * Lk + j) * Dv + c];
        out.data[(t * Lq + i) * Dv + c] = o;
      }
    }
  return recordRef(out, 'attention', [q, k, v], (g) => {
    const dq = ref(q.shape);
    const dk = ref(k.shape);
    const dv = ref(v.shape);
    for (let t = 0; t < BH; t++)
      for (let i = 0; i < Lq; i++) {
        const p = P.subarray((t * Lq + i) * Lk, (t * Lq + i + 1) * Lk);
        const dp = new Float64Array(Lk);
        for (let j = 0; j < Lk; j++) {
          for (let c = 0; c < Dv; c++) {
            const go = g.data[(t * Lq + i) * Dv + c];
            dv.data[(t * Lk + j) * Dv + c] += p[j] * go;
            dp[j] += go * v.data[(t * Lk + j) * Dv + c];
          }
        }
        let dot = 0;
        for (let j = 0; j < Lk; j++) dot += dp[j] * p[j];
        for (let j = 0; j < Lk; j++) {
          const ds = scale * p[j] * (dp[j] - dot);
          for (let c = 0; c < Dk; c++) {
            dq.data[(t * Lq + i) * Dk + c] += ds * k.data[(t * Lk + j) * Dk + c];
            dk.data[(t * Lk + j) * Dk + c] += ds * q.data[(t * Lq + i) * Dk + c];
          }
        }
      }
    return [dq, dk, dv];
  });
}
