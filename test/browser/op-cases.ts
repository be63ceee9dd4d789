import type * as Rddm from '../../src/index.js';

/**
 * Op computations with fixed seeds, run once in Node and once in a real browser page; the results must agree.
 * Each case returns flat values (forward outputs and gradients).
 */
export async function runOpCases(r: typeof Rddm): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  const flat = async (t: Rddm.Tensor) => Array.from(await t.data());

  const a = r.randn([17, 33], { seed: 11, requiresGrad: true });
  const b = r.randn([33, 9], { seed: 12, requiresGrad: true });
  const y = a.matmul(b).relu();
  out.matmul_relu = await flat(y);
  const loss = y.square().mean();
  await loss.backward();
  out.matmul_grad_a = await flat(a.grad!);
  out.matmul_grad_b = await flat(b.grad!);

  const s = r.randn([5, 40], { seed: 13 });
  out.softmax = await flat(s.softmax(1));
  out.log_softmax = await flat(s.logSoftmax(0));
  out.reduce = [...(await flat(s.sum(1))), ...(await flat(s.max(0))), ...(await flat(s.var(1)))];
  out.elementwise = await flat(s.gelu().add(s.sigmoid().mul(s.tanh())).sub(s.silu()));
  out.rand_uniform = await flat(r.rand([64], { seed: 99 }));
  out.randn = await flat(r.randn([64], { seed: 98 }));

  const ops = r as unknown as Record<string, (...args: unknown[]) => Rddm.Tensor>;
  if (typeof ops.conv2d === 'function') {
    const x = r.randn([2, 3, 9, 11], { seed: 21, requiresGrad: true });
    const w = r.randn([5, 3, 3, 3], { seed: 22, requiresGrad: true });
    const c = ops.conv2d(x, w, undefined, { stride: 1, padding: 1 });
    out.conv2d = await flat(c);
    await c.square().sum().backward();
    out.conv2d_grad_x = await flat(x.grad!);
    out.conv2d_grad_w = await flat(w.grad!);
  }
  if (typeof ops.groupNorm === 'function') {
    const x = r.randn([2, 8, 5, 5], { seed: 31, requiresGrad: true });
    const g = ops.groupNorm(x, 4, undefined, undefined, 1e-5);
    out.group_norm = await flat(g);
    await g.mul(x).sum().backward();
    out.group_norm_grad = await flat(x.grad!);
  }
  if (typeof ops.scaledDotProductAttention === 'function') {
    const q = r.randn([1, 2, 7, 8], { seed: 41, requiresGrad: true });
    const k = r.randn([1, 2, 9, 8], { seed: 42 });
    const v = r.randn([1, 2, 9, 8], { seed: 43 });
    const o = ops.scaledDotProductAttention(q, k, v, {});
    out.attention = await flat(o);
    await o.square().sum().backward();
    out.attention_grad_q = await flat(q.grad!);
  }
  if (typeof ops.linear === 'function') {
    // The fused paths of the overhead work: linear with bias and residual (and dW, dB), a channels → tokens
    // projection, GEGLU, attention on merged heads, a conv2d residual, and a flat AdamW step after clipping, then
    // the same step replayed by capture().
    const x = r.randn([40, 24], { seed: 51, requiresGrad: true });
    const w = r.randn([32, 24], { seed: 52, requiresGrad: true });
    const bias = r.randn([32], { seed: 53, requiresGrad: true });
    const res = r.randn([40, 32], { seed: 54, requiresGrad: true });
    const l = ops.linear(x, w, bias, { residual: res });
    out.linear = await flat(l);
    await l.square().sum().backward();
    out.linear_grads = [...(await flat(x.grad!)), ...(await flat(w.grad!)), ...(await flat(bias.grad!)), ...(await flat(res.grad!))];
    const n = r.randn([2, 8, 3, 5], { seed: 55, requiresGrad: true });
    const pw = r.randn([12, 8], { seed: 56, requiresGrad: true });
    const tok = ops.pointwiseLinear(n, pw, null, { from: 'channels', to: 'tokens' });
    const gg = ops.geglu(tok);
    out.pointwise_geglu = await flat(gg);
    await gg.square().sum().backward();
    out.pointwise_geglu_grads = [...(await flat(n.grad!)), ...(await flat(pw.grad!))];
    const q = r.randn([2, 7, 16], { seed: 57, requiresGrad: true });
    const kv = r.randn([2, 9, 16], { seed: 58, requiresGrad: true });
    const o = ops.multiHeadAttention(q, kv, kv, 2);
    out.mha = await flat(o);
    await o.square().sum().backward();
    out.mha_grads = [...(await flat(q.grad!)), ...(await flat(kv.grad!))];
    const cx = r.randn([2, 4, 6, 6], { seed: 59, requiresGrad: true });
    const cw = r.randn([6, 4, 3, 3], { seed: 60, requiresGrad: true });
    const cr = r.randn([2, 6, 1, 1], { seed: 61, requiresGrad: true });
    const cy = ops.conv2d(cx, cw, null, { padding: 1, residual: cr });
    out.conv2d_residual = await flat(cy);
    await cy.square().sum().backward();
    out.conv2d_residual_grads = [...(await flat(cx.grad!)), ...(await flat(cw.grad!)), ...(await flat(cr.grad!))];
    const lin = new r.nn.Linear(24, 8);
    r.noGrad(() => lin.parameters().forEach((p, i) => r.nn.assignInPlace(p, r.randn(p.shape, { seed: 70 + i }))));
    const opt = new r.optim.AdamW(lin.parameters(), { lr: 0.05 });
    const xs = r.randn([40, 24], { seed: 75 });
    const step = r.capture(async (input: Rddm.Tensor) => {
      const loss = r.tidy(() => lin.forward(input).square().mean());
      opt.zeroGrad();
      await loss.backward();
      r.optim.clipGradNorm(lin.parameters(), 0.1).dispose();
      opt.step();
      return loss;
    });
    const losses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const loss = await step(xs);
      losses.push(await loss.item());
      loss.dispose();
    }
    out.adamw_captured = [...losses, ...(await flat(lin.weight))];
  }
  return out;
}
