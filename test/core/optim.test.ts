// Optimizers, schedules, clipping and EMA against float64 re-implementations of PyTorch's definitions.
import { beforeAll, describe, expect, it } from 'vitest';
import { init, tensor, optim, nn, tidy, type Tensor } from '../../src/index.js';

beforeAll(async () => {
  await init();
});

const P0 = [0.5, -1.25, 2, 0.1, -0.3];
const GRADS = [
  [0.1, -0.2, 0.3, -0.4, 0.5],
  [-1, 0.5, 0.25, 2, -0.125],
  [0.3, 0.3, -0.3, 0, 1e-3],
];

function param(): Tensor {
  return nn.parameter(tensor(P0));
}

async function runSteps(p: Tensor, opt: { step(): void }): Promise<Float32Array> {
  for (const g of GRADS) {
    p.grad?.dispose();
    p.grad = tensor(g);
    opt.step();
  }
  return p.data();
}

function expectClose(got: ArrayLike<number>, want: number[], tol = 2e-6) {
  want.forEach((w, i) => expect(Math.abs(got[i] - w), `element ${i}: ${got[i]} vs ${w}`).toBeLessThanOrEqual(tol * (1 + Math.abs(w))));
}

describe('optimizers', () => {
  it('AdamW matches torch.optim.AdamW (decoupled decay, bias correction)', async () => {
    const [lr, b1, b2, eps, wd] = [0.01, 0.9, 0.999, 1e-8, 0.05];
    const p = P0.slice(), m = P0.map(() => 0), v = P0.map(() => 0);
    GRADS.forEach((g, t) => {
      for (let i = 0; i < p.length; i++) {
        p[i] *= 1 - lr * wd;
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        const mh = m[i] / (1 - b1 ** (t + 1)), vh = v[i] / (1 - b2 ** (t + 1));
        p[i] -= (lr * mh) / (Math.sqrt(vh) + eps);
      }
    });
    const w = param();
    expectClose(await runSteps(w, new optim.AdamW([w], { lr, betas: [b1, b2], eps, weightDecay: wd })), p);
  });

  it('SGD with momentum, dampening 0 and weight decay matches torch.optim.SGD', async () => {
    const [lr, mom, wd] = [0.1, 0.9, 0.01];
    const p = P0.slice(), buf = P0.map(() => 0);
    GRADS.forEach((g, t) => {
      for (let i = 0; i < p.length; i++) {
        const d = g[i] + wd * p[i];
        buf[i] = t === 0 ? d : mom * buf[i] + d;
        p[i] -= lr * buf[i];
      }
    });
    const w = param();
    expectClose(await runSteps(w, new optim.SGD([w], { lr, momentum: mom, weightDecay: wd })), p);
  });

  it('warm-up + cosine schedule: linear to lr, cosine to minLr, 1-based steps', () => {
    const s = optim.warmupCosine({ lr: 1, warmup: 4, total: 14, minLr: 0.1 });
    expect(s(1)).toBeCloseTo(0.25, 12);
    expect(s(4)).toBeCloseTo(1, 12);
    expect(s(9)).toBeCloseTo(0.1 + 0.45 * (1 + Math.cos(Math.PI * 0.5)), 12);
    expect(s(14)).toBeCloseTo(0.1, 12);
    expect(s(100)).toBeCloseTo(0.1, 12);
    expect(() => optim.warmupCosine({ lr: 1, warmup: 5, total: 3 })).toThrow(/warmup/);
  });

  it('clipGradNorm scales all gradients to the max norm and returns the norm before clipping', async () => {
    const a = nn.parameter(tensor([3, 0]));
    const b = nn.parameter(tensor([0, 4]));
    a.grad = tensor([3, 0]);
    b.grad = tensor([0, 4]);
    const norm = optim.clipGradNorm([a, b], 1);
    expect(await norm.item()).toBeCloseTo(5, 5);
    expectClose(await a.grad!.data(), [0.6, 0], 1e-5);
    expectClose(await b.grad!.data(), [0, 0.8], 1e-5);
    // Below the max norm nothing changes.
    const n2 = optim.clipGradNorm([a, b], 10);
    expect(await n2.item()).toBeCloseTo(1, 5);
    expectClose(await b.grad!.data(), [0, 0.8], 1e-5);
  });

  it('EMA keeps decay·shadow + (1-decay)·param and copies it back', async () => {
    const w = param();
    const ema = new optim.EMA([w], 0.5);
    tidy(() => {
      const next = w.mul(0).add(1);
      nn.assignInPlace(w, next);
    });
    ema.update();
    expectClose(await ema.shadow[0].data(), P0.map((x) => 0.5 * x + 0.5), 1e-6);
    ema.copyTo();
    expectClose(await w.data(), P0.map((x) => 0.5 * x + 0.5), 1e-6);
  });

  it('optimizer state round-trips through stateDict / loadStateDict (resume)', async () => {
    const w1 = param();
    const o1 = new optim.AdamW([w1], { lr: 0.01 });
    await runSteps(w1, o1);
    const state = await o1.stateDict();
    const w2 = nn.parameter(tensor(await w1.data()));
    const o2 = new optim.AdamW([w2], { lr: 0.01 });
    o2.loadStateDict(state);
    for (const [w, o] of [[w1, o1], [w2, o2]] as const) {
      w.grad?.dispose();
      w.grad = tensor([1, 1, 1, 1, 1]);
      o.step();
    }
    expect(Array.from(await w2.data())).toEqual(Array.from(await w1.data()));
  });
});
