/**
 * Whole blocks against float64 composites of reference ops (test/models/composite-ref.ts): forward, and backward to
 * the inputs and every parameter. Sizes are odd and tiny so lavapipe runs them in seconds.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { init, liveStats, tensor, tidy, type Tensor } from '../../src/index.js';
import { ResnetBlock2D, Transformer2DModel, Downsample2D, Upsample2D } from '../../src/models/index.js';
import type { Module } from '../../src/nn/index.js';
import { refGrads, ref, type RefTensor } from '../reference/index.js';
import { expectClose } from '../helpers/check-op.js';
import { makeRng } from '../helpers/random.js';
import { conv2dRef, resnetRef, transformer2dRef, upsample2xRef, vaeDownsampleRef } from './composite-ref.js';
import { randomInput, randomizeParams } from './helpers.js';

beforeAll(async () => {
  await init();
});

const tol = { atol: 2e-4, rtol: 2e-3 };

/** Runs `engine` and `reference`, compares outputs, pushes one random upstream gradient and compares every gradient. */
async function checkBlock(
  name: string,
  module: Module,
  inputs: { t: Tensor; r: RefTensor }[],
  engine: (...xs: Tensor[]) => Tensor,
  reference: (...xs: RefTensor[]) => RefTensor,
  params: Record<string, RefTensor>,
): Promise<void> {
  const out = tidy(() => engine(...inputs.map((i) => i.t)));
  const refOut = reference(...inputs.map((i) => i.r));
  expect(out.shape).toEqual(refOut.shape);
  expectClose(`${name} forward`, await out.data(), refOut, tol);
  const rng = makeRng(7);
  const upData = Float32Array.from({ length: out.size }, () => rng.uniform(-1, 1));
  const up = tensor(upData, out.shape);
  await out.backward({ grad: up });
  const named = module.namedParameters();
  const refG = refGrads(refOut, ref(out.shape, upData), [...inputs.map((i) => i.r), ...named.map(([k]) => params[k])]);
  for (const [i, inp] of inputs.entries()) {
    if (!inp.t.requiresGrad) continue;
    expectClose(`${name} d/d input ${i}`, await inp.t.grad!.data(), refG[i], tol);
  }
  for (const [j, [k, p]] of named.entries()) {
    expect(p.grad, `${name}: ${k} got no gradient`).not.toBeNull();
    expectClose(`${name} d/d ${k}`, await p.grad!.data(), refG[inputs.length + j], tol);
  }
  for (const t of [out, up, ...inputs.map((i) => i.t)]) {
    t.grad?.dispose();
    t.dispose();
  }
  module.zeroGrad();
}

describe('model blocks vs float64 composites', () => {
  it('ResnetBlock2D with timestep embedding and conv_shortcut: forward and backward', async () => {
    const block = new ResnetBlock2D(4, 8, { groups: 2, eps: 1e-5, tembChannels: 6 });
    const params = randomizeParams(block, 11);
    const before = { tensors: liveStats.tensors, storages: liveStats.storages };
    const x = randomInput([2, 4, 5, 3], 12);
    const temb = randomInput([2, 6], 13);
    await checkBlock('resnet', block, [x, temb], (a, b) => block.forward(a, b), (a, b) => resnetRef(params, a, b, 2, 1e-5), params);
    expect({ tensors: liveStats.tensors, storages: liveStats.storages }, 'resnet forward+backward leaked tensors').toEqual(before);
  });

  it('ResnetBlock2D without timestep (VAE form), same width: identity shortcut', async () => {
    const block = new ResnetBlock2D(4, 4, { groups: 4, eps: 1e-6, tembChannels: 0 });
    expect(block.conv_shortcut).toBeNull();
    expect(block.time_emb_proj).toBeNull();
    const params = randomizeParams(block, 21);
    const x = randomInput([1, 4, 4, 6], 22);
    await checkBlock('vae resnet', block, [x], (a) => block.forward(a), (a) => resnetRef(params, a, null, 4, 1e-6), params);
  });

  it('Transformer2DModel (GroupNorm, proj_in, self- and cross-attention, GEGLU, proj_out): forward and backward', async () => {
    const block = new Transformer2DModel(8, 2, 6, 2);
    const params = randomizeParams(block, 31);
    const x = randomInput([2, 8, 3, 2], 32);
    const ctx = randomInput([2, 5, 6], 33);
    await checkBlock('transformer', block, [x, ctx], (a, c) => block.forward(a, c), (a, c) => transformer2dRef(params, a, c, 2, 2), params);
  });

  it('Downsample2D (VAE right/bottom padding and UNet symmetric) and Upsample2D', async () => {
    const down = new Downsample2D(3, 'right-bottom');
    const p1 = randomizeParams(down, 41);
    await checkBlock('vae downsample', down, [randomInput([1, 3, 6, 4], 42)], (a) => down.forward(a), (a) => vaeDownsampleRef(a, p1['conv.weight'], p1['conv.bias']), p1);
    const sym = new Downsample2D(3, 'symmetric');
    const p2 = randomizeParams(sym, 43);
    await checkBlock('unet downsample', sym, [randomInput([1, 3, 6, 4], 44)], (a) => sym.forward(a), (a) => conv2dRef(a, p2['conv.weight'], p2['conv.bias'], 2, 1), p2);
    const up = new Upsample2D(3);
    const p3 = randomizeParams(up, 45);
    await checkBlock('upsample', up, [randomInput([1, 3, 3, 2], 46)], (a) => up.forward(a), (a) => conv2dRef(upsample2xRef(a), p3['conv.weight'], p3['conv.bias'], 1, 1), p3);
  });
});
