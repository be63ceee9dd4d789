/**
 * Float64 GroupNorm (optionally followed by SiLU) and LayerNorm, with their vector-Jacobian products written out
 * as plain loops: the statistics are the biased variance, as PyTorch's normalisation layers use.
 */
import { numel, recordRef, ref, type RefTensor } from './ref-tensor.js';

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

/**
 * Normalises each row of `rows` (lists of flat indices) with its own mean and variance, applies the affine
 * (weight/bias index of each element from `param`) and optional SiLU, and records the backward.
 */
function normalizeRows(
  op: string,
  x: RefTensor,
  rows: number[][],
  param: (i: number) => number,
  weight: RefTensor | null,
  bias: RefTensor | null,
  eps: number,
  silu: boolean,
): RefTensor {
  const xhat = new Float64Array(x.data.length);
  const rstdOf = new Float64Array(x.data.length);
  const pre = new Float64Array(x.data.length);
  const out = ref(x.shape);
  for (const row of rows) {
    const mean = row.reduce((s, i) => s + x.data[i], 0) / row.length;
    const variance = row.reduce((s, i) => s + (x.data[i] - mean) ** 2, 0) / row.length;
    const rstd = 1 / Math.sqrt(variance + eps);
    for (const i of row) {
      xhat[i] = (x.data[i] - mean) * rstd;
      rstdOf[i] = rstd;
      pre[i] = xhat[i] * (weight ? weight.data[param(i)] : 1) + (bias ? bias.data[param(i)] : 0);
      out.data[i] = silu ? pre[i] * sigmoid(pre[i]) : pre[i];
    }
  }
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  return recordRef(out, op, inputs, (gz) => {
    const gy = Array.from(gz.data, (g, i) => (silu ? g * sigmoid(pre[i]) * (1 + pre[i] * (1 - sigmoid(pre[i]))) : g));
    const dx = ref(x.shape);
    const dw = weight ? ref(weight.shape) : null;
    const db = bias ? ref(bias.shape) : null;
    for (let i = 0; i < gy.length; i++) {
      if (dw) dw.data[param(i)] += gy[i] * xhat[i];
      if (db) db.data[param(i)] += gy[i];
    }
    for (const row of rows) {
      // dx = rstd (dx̂ - mean(dx̂) - x̂ mean(dx̂ x̂)), dx̂ = gy w
      const dxh = row.map((i) => gy[i] * (weight ? weight.data[param(i)] : 1));
      const m1 = dxh.reduce((s, v) => s + v, 0) / row.length;
      const m2 = dxh.reduce((s, v, k) => s + v * xhat[row[k]], 0) / row.length;
      row.forEach((i, k) => (dx.data[i] = rstdOf[i] * (dxh[k] - m1 - xhat[i] * m2)));
    }
    return [dx, ...(dw ? [dw] : []), ...(db ? [db] : [])];
  });
}

/** torch.nn.functional.group_norm on [N, C, ...] (then SiLU when `silu`). */
export function groupNormRef(x: RefTensor, groups: number, weight: RefTensor | null, bias: RefTensor | null, eps = 1e-5, silu = false): RefTensor {
  const [N, C] = x.shape;
  const S = numel(x.shape.slice(2));
  const cpg = C / groups;
  const rows: number[][] = [];
  for (let n = 0; n < N; n++)
    for (let g = 0; g < groups; g++) rows.push(Array.from({ length: cpg * S }, (_, e) => (n * C + g * cpg) * S + e));
  return normalizeRows(silu ? 'groupNormSilu' : 'groupNorm', x, rows, (i) => Math.floor(i / S) % C, weight, bias, eps, silu);
}

/** torch.nn.functional.layer_norm over the trailing dims of size numel(normalizedShape). */
export function layerNormRef(x: RefTensor, normalizedShape: readonly number[], weight: RefTensor | null, bias: RefTensor | null, eps = 1e-5): RefTensor {
  const M = numel(normalizedShape);
  const rows: number[][] = [];
  for (let r = 0; r < x.data.length / M; r++) rows.push(Array.from({ length: M }, (_, j) => r * M + j));
  return normalizeRows('layerNorm', x, rows, (i) => i % M, weight, bias, eps, false);
}
