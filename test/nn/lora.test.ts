/** LoRA wrappers: naming, zero-init, the low-rank update, adapter switching, gradients, merge/unmerge. */
import { beforeAll, describe, expect, it } from 'vitest';
import { maxDiff } from '../helpers/tensor-diff.js';
import { init, manualSeed, randn, tensor, tidy, type Tensor } from '../../src/index.js';
import { Linear, Module } from '../../src/nn/index.js';
import { Conv2d } from '../../src/nn/conv2d.js';
import { LoRAConv2d, LoRALinear, setActiveAdapter, wrapWithLoRA } from '../../src/nn/lora.js';
import { assignInPlace } from '../../src/nn/module.js';

beforeAll(async () => {
  await init();
  manualSeed(3);
});

function fill(p: Tensor, seed: number): void {
  const v = Float32Array.from({ length: p.size }, (_, i) => Math.sin(seed * 7.1 + i * 1.3) * 0.3);
  tidy(() => assignInPlace(p, tensor(v, p.shape)));
}

describe('LoRALinear', () => {
  it('keeps the base names, adds PEFT-named adapters, freezes the base', () => {
    const l = new LoRALinear(new Linear(6, 5), ['a', 'b'], { rank: 2 });
    expect(l.namedParameters().map(([k, t]) => [k, t.shape])).toEqual([
      ['weight', [5, 6]], ['bias', [5]],
      ['lora_A.a.weight', [2, 6]], ['lora_B.a.weight', [5, 2]],
      ['lora_A.b.weight', [2, 6]], ['lora_B.b.weight', [5, 2]],
    ]);
    expect(l.base.weight.requiresGrad).toBe(false);
    expect(l.trainableParameters()).toHaveLength(4);
    expect(() => l.setAdapter('c')).toThrow(/no adapter 'c'.*'a', 'b'/);
  });

  it('zero-initialised B leaves the output unchanged; a trained pair adds (α/r)·B·A·x', async () => {
    const base = new Linear(6, 5);
    const x = randn([3, 6]);
    const y0 = base.forward(x);
    const l = new LoRALinear(base, ['a'], { rank: 2, alpha: 6 }).setAdapter('a');
    const y1 = l.forward(x);
    expect(await maxDiff(y0, y1)).toBe(0);
    const a = l.adapter('a');
    fill(a.B.weight, 1);
    const y2 = l.forward(x);
    const expected = tidy(() => y0.add(x.matmul(a.A.weight.T).matmul(a.B.weight.T).mul(3)));
    expect(await maxDiff(y2, expected)).toBeLessThan(1e-5);
    l.setAdapter(null);
    const y3 = l.forward(x);
    expect(await maxDiff(y3, y0)).toBe(0);
    for (const t of [x, y0, y1, y2, y3, expected]) t.dispose();
  });

  it('gradients reach only the active adapter', async () => {
    const l = new LoRALinear(new Linear(4, 3), ['a', 'b']);
    fill(l.adapter('a').B.weight, 2);
    fill(l.adapter('b').B.weight, 3);
    l.setAdapter('b');
    const x = randn([2, 4]);
    const loss = tidy(() => l.forward(x).square().sum());
    await loss.backward();
    expect(l.adapter('b').A.weight.grad).not.toBeNull();
    expect(l.adapter('b').B.weight.grad).not.toBeNull();
    expect(l.adapter('a').A.weight.grad).toBeNull();
    expect(l.adapter('a').B.weight.grad).toBeNull();
    expect(l.base.weight.grad).toBeNull();
    l.zeroGrad();
    x.dispose();
    loss.dispose();
  });

  it('merge() gives the same output with the update folded in; unmerge() restores the base weight', async () => {
    const l = new LoRALinear(new Linear(6, 5), ['a'], { rank: 3 }).setAdapter('a');
    fill(l.adapter('a').B.weight, 4);
    const w0 = await l.base.weight.data();
    const x = randn([2, 6]);
    const y = l.forward(x);
    l.merge();
    expect(l.isMerged).toBe(true);
    const ym = l.forward(x);
    expect(await maxDiff(y, ym)).toBeLessThan(1e-5);
    expect(await maxDiff(l.base.weight, tensor(w0, [5, 6]))).toBeGreaterThan(1e-3);
    l.unmerge();
    const w1 = await l.base.weight.data();
    expect(w1.reduce((m, v, i) => Math.max(m, Math.abs(v - w0[i])), 0)).toBeLessThan(1e-6);
    for (const t of [x, y, ym]) t.dispose();
  });
});

describe('LoRAConv2d', () => {
  it('A mirrors the base kernel/stride/padding, B is 1x1; zero-init unchanged; merge equals unmerged', async () => {
    const base = new Conv2d(3, 4, 3, { stride: 2, padding: 1, bias: true });
    const x = randn([1, 3, 7, 5]);
    const y0 = base.forward(x);
    const l = new LoRAConv2d(base, ['RGGB'], { rank: 2 }).setAdapter('RGGB');
    expect(l.namedParameters().map(([k, t]) => [k, t.shape])).toEqual([
      ['weight', [4, 3, 3, 3]], ['bias', [4]], ['lora_A.RGGB.weight', [2, 3, 3, 3]], ['lora_B.RGGB.weight', [4, 2, 1, 1]],
    ]);
    const y1 = l.forward(x);
    expect(y1.shape).toEqual(y0.shape);
    expect(await maxDiff(y0, y1)).toBe(0);
    fill(l.adapter('RGGB').B.weight, 5);
    const y2 = l.forward(x);
    expect(await maxDiff(y0, y2)).toBeGreaterThan(1e-4);
    l.merge();
    const y3 = l.forward(x);
    expect(await maxDiff(y2, y3)).toBeLessThan(1e-5);
    l.unmerge();
    for (const t of [x, y0, y1, y2, y3]) t.dispose();
  });
});

describe('wrapWithLoRA', () => {
  class Net extends Module {
    fc = new Linear(4, 4);
    out = [new Linear(4, 2)];
  }
  it('replaces selected layers in place (names unchanged) and switches adapters together', () => {
    const n = new Net();
    const before = n.namedParameters().map(([k]) => k);
    const paths = wrapWithLoRA(n, () => true, ['x', 'y']);
    expect(paths).toEqual(['fc', 'out.0']);
    const after = n.namedParameters().map(([k]) => k);
    expect(after.filter((k) => !k.includes('lora_'))).toEqual(before);
    expect(after).toContain('out.0.lora_B.y.weight');
    setActiveAdapter(n, 'y');
    expect((n.fc as unknown as LoRALinear).activeAdapter).toBe('y');
    expect(() => setActiveAdapter(n, 'z')).toThrow(/lack it/);
  });
});
