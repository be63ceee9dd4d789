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
  return out;
}
