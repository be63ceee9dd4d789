// capture(): the first call runs eagerly, the second records, later calls replay the recorded commands. Replays must
// give exactly what eager calls give (same kernels, same buffers), advance optimizer schedules and the default
// random generator, hand back outputs and gradients, and refuse what would make them wrong.
import { beforeAll, describe, expect, it } from 'vitest';
import { capture, getDevice, init, nn, noGrad, optim, randn, tensor, tidy, type Tensor } from '../../src/index.js';

beforeAll(async () => {
  await init();
});

function model(seed: number) {
  const lin = new nn.Linear(12, 16);
  const norm = new nn.GroupNorm(4, 16);
  const conv = new nn.Conv2d(16, 8, 3, { padding: 1 });
  const params = [...lin.parameters(), ...norm.parameters(), ...conv.parameters()];
  noGrad(() => params.forEach((p, i) => nn.assignInPlace(p, randn(p.shape, { seed: seed + i, std: 0.3 }))));
  const forward = (x: Tensor) => {
    const h = lin.forward(x).reshape([2, 16, 4, 4]);
    return conv.forward(norm.forward(h).silu());
  };
  return { params, forward };
}

async function run(steps: number, captured: boolean) {
  const m = model(10);
  const opt = new optim.AdamW(m.params, { lr: optim.warmupCosine({ lr: 0.05, warmup: 2, total: 8 }), weightDecay: 0.01 });
  const x = tensor(new Float32Array(32 * 12), [32, 12]);
  const target = tensor(new Float32Array(2 * 8 * 16), [2, 8, 4, 4]);
  const stepFn = async (xi: Tensor, ti: Tensor) => {
    const loss = tidy(() => m.forward(xi).sub(ti).square().mean());
    opt.zeroGrad();
    await loss.backward();
    optim.clipGradNorm(m.params, 0.5).dispose();
    opt.step();
    return { loss };
  };
  const step = captured ? capture(stepFn) : stepFn;
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    noGrad(() => {
      const [a, b] = [randn([32, 12], { seed: 100 + i }), randn([2, 8, 4, 4], { seed: 200 + i })];
      nn.assignInPlace(x, a);
      nn.assignInPlace(target, b);
      a.dispose();
      b.dispose();
    });
    const { loss } = await step(x, target);
    losses.push(await loss.item());
    loss.dispose();
  }
  const params = await Promise.all(m.params.map((p) => p.data()));
  const grads = await Promise.all(m.params.map((p) => p.grad!.data()));
  return { losses, params, grads, step, opt, x, target };
}

describe('capture', () => {
  it('replays give bit-identical losses, parameters and gradients to eager steps, with the schedule advancing', async () => {
    const eager = await run(7, false);
    const replayed = await run(7, true);
    expect(replayed.losses).toEqual(eager.losses);
    replayed.params.forEach((p, i) => expect(Array.from(p)).toEqual(Array.from(eager.params[i])));
    replayed.grads.forEach((g, i) => expect(Array.from(g)).toEqual(Array.from(eager.grads[i])));
    expect(replayed.opt.stepCount).toBe(7);
    const step = replayed.step as ReturnType<typeof capture>;
    expect(step.phase).toBe('replaying');
    expect(step.dispatches).toBeGreaterThan(10);
  });

  it('refuses other inputs, naming what changed, and a step whose tensors were disposed', async () => {
    const r = await run(3, true);
    const step = r.step as ReturnType<typeof capture<[Tensor, Tensor], { loss: Tensor }>>;
    const other = tensor(new Float32Array(32 * 12), [32, 12]);
    await expect(step(other, r.target)).rejects.toThrow(/input 0 is another tensor/);
    const wrong = tensor(new Float32Array(12), [1, 12]);
    await expect(step(wrong, r.target)).rejects.toThrow(/input 0 is shape \[1,12\] instead of \[32,12\]/);
    r.opt.dispose(); // the parameters leave the optimizer's buffers the step updates
    await expect(step(r.x, r.target)).rejects.toThrow(/was disposed since it was captured/);
    for (const t of [other, wrong]) t.dispose();
    step.dispose();
  });

  it('draws from the default generator advance per replay, as eager draws do; reading data inside is refused', async () => {
    const draw = async () => tidy(() => randn([64]).add(0));
    const eagerDraws: number[][] = [];
    (await import('../../src/index.js')).manualSeed(7);
    for (let i = 0; i < 4; i++) {
      const t = await draw();
      eagerDraws.push(Array.from(await t.data()));
      t.dispose();
    }
    (await import('../../src/index.js')).manualSeed(7);
    const step = capture(draw);
    for (let i = 0; i < 4; i++) {
      const t = await step();
      expect(Array.from(await t.data())).toEqual(eagerDraws[i]);
      t.dispose();
    }
    step.dispose();
    const reads = capture(async () => {
      const t = randn([4]);
      await t.data();
      return t;
    });
    (await reads()).dispose();
    await expect(reads()).rejects.toThrow(/cannot read data back/);
    expect(getDevice().capturing).toBe(false);
  });
});
