// Multi-tensor optimizers over flat arenas, on a device with a tiny storage-binding limit so the parameters spread
// over several arena chunks, against float64 re-implementations of the per-parameter definitions.
// In its own file: it needs a device created with the lowered limit.
import { beforeAll, describe, expect, it } from 'vitest';
import { init, getDevice, tensor, optim, nn, type Tensor } from '../../src/index.js';
import { arenaOf } from '../../src/optim/param-arena.js';

const BINDING = 4096; // 1024 floats per chunk

beforeAll(async () => {
  await init({ limits: { maxStorageBufferBindingSize: BINDING } });
});

/** Deterministic values in [-1, 1). */
function values(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

const SIZES = [5, 300, 700, 64, 1, 513];

function makeParams(): { ps: Tensor[]; init: number[][] } {
  const init = SIZES.map((n, i) => values(n, 10 + i));
  return { ps: init.map((v) => nn.parameter(tensor(v))), init };
}

function expectClose(got: ArrayLike<number>, want: number[], tol = 3e-6, what = '') {
  want.forEach((w, i) => expect(Math.abs(got[i] - w), `${what} element ${i}: ${got[i]} vs ${w}`).toBeLessThanOrEqual(tol * (1 + Math.abs(w))));
}

/** Gradients per step and parameter; null where the parameter gets none that step. */
const grads = (step: number) => SIZES.map((n, i) => (step === 1 && (i === 1 || i === 4) ? null : values(n, 100 * step + i)));

describe('flat (multi-tensor) optimizers', () => {
  it('spread over several arena chunks; AdamW updates every parameter with a gradient in one launch per chunk, skipping the others', async () => {
    const { ps, init } = makeParams();
    const [lr, b1, b2, eps, wd] = [0.01, 0.9, 0.999, 1e-8, 0.05];
    const opt = new optim.AdamW(ps, { lr, betas: [b1, b2], eps, weightDecay: wd });
    expect(opt.arena.layouts.length).toBeGreaterThan(2);
    for (const p of ps) expect(arenaOf(p)).toBe(opt.arena);
    // float64 reference: the step count (bias correction) is the optimizer's, as in this engine's checkpoints.
    const ref = init.map((v) => v.slice()), m = init.map((v) => v.map(() => 0)), v2 = init.map((v) => v.map(() => 0));
    const dev = getDevice();
    for (let t = 0; t < 3; t++) {
      const g = grads(t);
      opt.zeroGrad();
      ps.forEach((p, i) => (p.grad = g[i] ? tensor(g[i]!) : null));
      const d0 = dev.batch.dispatchCount;
      opt.step();
      // The update itself: one launch per chunk (the hand-set gradients are first copied into their slots).
      expect(dev.batch.dispatchCount - d0 - g.filter(Boolean).length).toBe(opt.arena.layouts.length);
      g.forEach((gi, i) => {
        if (!gi) return;
        for (let j = 0; j < gi.length; j++) {
          ref[i][j] *= 1 - lr * wd;
          m[i][j] = b1 * m[i][j] + (1 - b1) * gi[j];
          v2[i][j] = b2 * v2[i][j] + (1 - b2) * gi[j] * gi[j];
          ref[i][j] -= (lr * (m[i][j] / (1 - b1 ** (t + 1)))) / (Math.sqrt(v2[i][j] / (1 - b2 ** (t + 1))) + eps);
        }
      });
    }
    for (const [i, p] of ps.entries()) expectClose(await p.data(), ref[i], 3e-6, `param ${i}`);
    opt.dispose();
  });

  it('SGD with momentum matches torch.optim.SGD across chunks', async () => {
    const { ps, init } = makeParams();
    const [lr, mom, wd] = [0.1, 0.9, 0.01];
    const opt = new optim.SGD(ps, { lr, momentum: mom, weightDecay: wd });
    const ref = init.map((v) => v.slice()), buf = init.map((v) => v.map(() => 0));
    for (let t = 0; t < 3; t++) {
      const g = grads(t);
      opt.zeroGrad();
      ps.forEach((p, i) => (p.grad = g[i] ? tensor(g[i]!) : null));
      opt.step();
      g.forEach((gi, i) => {
        if (!gi) return;
        for (let j = 0; j < gi.length; j++) {
          const d = gi[j] + wd * ref[i][j];
          buf[i][j] = t === 0 ? d : mom * buf[i][j] + d;
          ref[i][j] -= lr * buf[i][j];
        }
      });
    }
    for (const [i, p] of ps.entries()) expectClose(await p.data(), ref[i], 3e-6, `param ${i}`);
    opt.dispose();
  });

  it('state dicts list only parameters with state, per parameter, and a loaded optimizer continues identically', async () => {
    const a = makeParams(), b = makeParams();
    const o1 = new optim.AdamW(a.ps, { lr: 0.02 });
    a.ps.forEach((p, i) => (p.grad = i === 2 ? null : tensor(values(SIZES[i], 7 + i))));
    o1.step();
    const state = await o1.stateDict();
    expect(state.slots[2]).toEqual({});
    expect(state.slots[0].slot0).toHaveLength(SIZES[0]);
    expect(state.slots[5].slot1).toHaveLength(SIZES[5]);
    const o2 = new optim.AdamW(b.ps, { lr: 0.02 });
    b.ps.forEach((p, i) => nn.assignInPlace(p, a.ps[i]));
    o2.loadStateDict(state);
    for (const [ps, o] of [[a.ps, o1], [b.ps, o2]] as const) {
      o.zeroGrad();
      ps.forEach((p, i) => (p.grad = tensor(values(SIZES[i], 50 + i))));
      o.step();
    }
    for (let i = 0; i < SIZES.length; i++) expect(Array.from(await b.ps[i].data())).toEqual(Array.from(await a.ps[i].data()));
    // A state of the wrong size is refused before anything loads.
    const bad = { ...state, slots: state.slots.map((s, i) => (i === 3 ? { slot0: new Float32Array(2), slot1: new Float32Array(2) } : s)) };
    expect(() => o2.loadStateDict(bad)).toThrow(/parameter 3 has the wrong size/);
    o1.dispose();
    o2.dispose();
  });

  it('a parameter belongs to one optimizer at a time; dispose() gives it back its own storage with its values', async () => {
    const { ps } = makeParams();
    const o1 = new optim.SGD(ps, { lr: 0.5 });
    ps[0].grad = tensor([1, 1, 1, 1, 1]);
    o1.step();
    const after = Array.from(await ps[0].data());
    expect(() => new optim.SGD([ps[0]], { lr: 1 })).toThrow(/already belongs to another optimizer/);
    o1.dispose();
    expect(arenaOf(ps[0])).toBeNull();
    expect(ps[0].grad).toBeNull();
    expect(Array.from(await ps[0].data())).toEqual(after);
    const o2 = new optim.SGD([ps[0]], { lr: 1 });
    expect(arenaOf(ps[0])).toBe(o2.arena);
    o2.dispose();
  });

  it('clipGradNorm over the flat gradients: the global norm of the parameters with gradients, all scaled in place', async () => {
    const { ps } = makeParams();
    const opt = new optim.SGD(ps, { lr: 0 });
    const g = grads(1);
    ps.forEach((p, i) => (p.grad = g[i] ? tensor(g[i]!) : null));
    opt.step(); // moves the gradients into their slots
    const norm = Math.sqrt(g.reduce((s, gi) => s + (gi ?? []).reduce((a, x) => a + x * x, 0), 0));
    const dev = getDevice();
    const d0 = dev.batch.dispatchCount;
    const n = optim.clipGradNorm(ps, 1);
    // A partial-sum pass per chunk, one combine, one scale per chunk: independent of the parameter count.
    expect(dev.batch.dispatchCount - d0).toBe(2 * opt.arena.layouts.length + 1);
    expect(await n.item()).toBeCloseTo(norm, 4);
    for (const [i, p] of ps.entries()) {
      if (!g[i]) expect(p.grad).toBeNull();
      else expectClose(await p.grad!.data(), g[i]!.map((x) => x * Math.min(1 / (norm + 1e-6), 1)), 1e-5, `grad ${i}`);
    }
    n.dispose();
    opt.dispose();
  });

  it('GradScaler finds a non-finite gradient in the last chunk, and unscales all gradients in place', async () => {
    const { ps } = makeParams();
    const opt = new optim.SGD(ps, { lr: 1 });
    const scaler = new optim.GradScaler({ initScale: 4 });
    ps.forEach((p, i) => (p.grad = tensor(values(SIZES[i], 3 + i).map((x) => x * 4))));
    opt.step(); // into the slots (lr 1: the parameters move, which does not matter here)
    const g5 = await ps[5].grad!.data();
    expect(await scaler.unscale(opt)).toBe(true);
    expectClose(await ps[5].grad!.data(), Array.from(g5, (x) => x / 4), 1e-6, 'unscaled');
    scaler.update();
    const bad = values(SIZES[5], 9);
    bad[SIZES[5] - 1] = Infinity;
    opt.zeroGrad();
    ps.forEach((p, i) => (p.grad = tensor(i === 5 ? bad : values(SIZES[i], 1))));
    const before = Array.from(await ps[0].data());
    expect(await scaler.step(opt)).toBe(false);
    expect(Array.from(await ps[0].data())).toEqual(before);
    opt.dispose();
  });

  it('EMA: flat shadows in the optimizer arena (also when the EMA was made first) equal the per-parameter average', async () => {
    const { ps, init } = makeParams();
    const early = new optim.EMA(ps.slice(0, 3), 0.75);
    const opt = new optim.SGD(ps, { lr: 0.1 });
    const late = new optim.EMA(ps, 0.5);
    const refEarly = init.slice(0, 3).map((v) => v.slice()), refLate = init.map((v) => v.slice());
    const cur = init.map((v) => v.slice());
    for (let t = 0; t < 2; t++) {
      opt.zeroGrad();
      const g = grads(t);
      ps.forEach((p, i) => (p.grad = g[i] ? tensor(g[i]!) : null));
      opt.step();
      g.forEach((gi, i) => gi && gi.forEach((x, j) => (cur[i][j] -= 0.1 * x)));
      early.update();
      late.update();
      refEarly.forEach((r, i) => r.forEach((x, j) => (r[j] = 0.75 * x + 0.25 * cur[i][j])));
      refLate.forEach((r, i) => r.forEach((x, j) => (r[j] = 0.5 * x + 0.5 * cur[i][j])));
    }
    for (let i = 0; i < 3; i++) expectClose(await early.shadow[i].data(), refEarly[i], 2e-6, `early ${i}`);
    for (let i = 0; i < ps.length; i++) expectClose(await late.shadow[i].data(), refLate[i], 2e-6, `late ${i}`);
    late.copyTo();
    expectClose(await ps[4].data(), refLate[4], 2e-6, 'copyTo');
    early.dispose();
    late.dispose();
    opt.dispose();
  });

  it('an arena over the memory limit is refused up front, naming the sizes and the limit', () => {
    const dev = getDevice();
    const { ps } = makeParams();
    dev.memoryLimit = dev.memoryStats().liveBytes + 1024;
    try {
      expect(() => new optim.AdamW(ps)).toThrow(/optimizer flat storage.*needs .* MiB.*memory limit.*--max-memory/);
      expect(arenaOf(ps[0])).toBeNull();
    } finally {
      dev.memoryLimit = null;
    }
  });
});
