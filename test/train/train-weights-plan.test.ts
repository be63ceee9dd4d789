// scripts/train-weights.sh (`npm run train:weights`) with PLAN=1: the stage plan it would run, checked without
// training. Five stages in order, each from the one before (the fifth, stage 4 again with the decoder training); the recipe's configs exist; the projection fits the
// 8-hour lavapipe budget; a re-run skips finished stages and resumes a checkpointed one; TIME_<STAGE> limits it; the
// one-step A/B trains both arms on the stage's own schedule to one step and is skipped once chosen or set.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MODEL_CONFIGS } from '../../src/models/configs.js';

const dir = mkdtempSync(join(tmpdir(), 'rddm-train-plan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function plan(runs: string, env: Record<string, string> = {}): string {
  const r = spawnSync('bash', ['scripts/train-weights.sh'], { env: { ...process.env, PLAN: '1', RUNS: runs, OUT: join(dir, 'out'), ...env }, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}
const commands = (out: string) => out.split('\n').filter((l) => l.startsWith('  node bin/rddm.js')).map((l) => l.trim().split(/\s+/));
const flag = (cmd: string[], f: string) => (cmd.includes(f) ? cmd[cmd.indexOf(f) + 1] : undefined);

describe('train-weights.sh plan', () => {
  it('runs rvae1 → rvae2 → unet → onestep → decoder from scratch, each from the previous weights, within 8 hours', () => {
    const runs = join(dir, 'fresh');
    const out = plan(runs);
    const cmds = commands(out);
    expect(cmds).toHaveLength(6); // five stages and the eval
    const [rvae1, rvae2, unet, onestep, decoder, evalCmd] = cmds;
    expect(rvae1.slice(2, 5)).toEqual(['train-rvae', '--stage', '1']);
    expect(rvae2.slice(2, 5)).toEqual(['train-rvae', '--stage', '2']);
    expect(unet.slice(2, 5)).toEqual(['train', '--mode', 'multistep']);
    expect(onestep.slice(2, 5)).toEqual(['train', '--mode', 'onestep']);
    expect(decoder.slice(2, 5)).toEqual(['train', '--mode', 'onestep']);
    // Only the last stage trains the decoder, and it draws its crops in a new order.
    expect(cmds.map((c) => c.includes('--train-decoder'))).toEqual([false, false, false, false, true, false]);
    expect(flag(decoder, '--seed')).not.toBe(flag(onestep, '--seed'));
    // The last stage weighs its sRGB pixel loss above the default 1 (chosen on validation); stage 4 keeps the defaults.
    expect(Number(flag(decoder, '--lambda-pixel'))).toBeGreaterThan(1);
    expect(flag(onestep, '--lambda-pixel')).toBeUndefined();
    // From scratch with the recipe's models, which must be configs of the right kind.
    expect(flag(rvae1, '--init')).toBeUndefined();
    expect(MODEL_CONFIGS[flag(rvae1, '--vae') as keyof typeof MODEL_CONFIGS]?.kind).toBe('vae');
    expect(MODEL_CONFIGS[flag(rvae1, '--unet') as keyof typeof MODEL_CONFIGS]?.kind).toBe('unet');
    for (const [prev, next] of [[rvae1, rvae2], [rvae2, unet], [unet, onestep], [onestep, decoder]]) expect(flag(next, '--init')).toBe(flag(prev, '--out'));
    for (const c of [rvae1, rvae2, unet, onestep, decoder]) {
      for (const f of ['--steps', '--lr', '--seed', '--crop', '--batch', '--run', '--out']) expect(flag(c, f), `${c[2]} ${f}`).toBeDefined();
      expect(c).not.toContain('--resume');
      expect(c).not.toContain('--time-limit');
    }
    expect(flag(evalCmd, '--weights')).toBe(join(dir, 'out'));
    expect(flag(evalCmd, '--data')).toMatch(/^data\/photos\/(validation|eval)$/);
    // The eval records the ceiling (a perfect latent) and the bare RVAE beside the restorations.
    expect(flag(evalCmd, '--methods')?.split(',')).toEqual(expect.arrayContaining(['rddm', 'bilinear', 'classical', 'ceiling', 'rvae']));
    // The UNet works on the VAE's latents.
    const vae = MODEL_CONFIGS[flag(rvae1, '--vae') as keyof typeof MODEL_CONFIGS] as { latentChannels: number };
    const net = MODEL_CONFIGS[flag(rvae1, '--unet') as keyof typeof MODEL_CONFIGS] as { inChannels: number };
    expect(net.inChannels).toBe(vae.latentChannels);
    const hours = Number(/projected: ([\d.]+) h/.exec(out)?.[1]);
    expect(hours).toBeGreaterThan(1);
    expect(hours).toBeLessThanOrEqual(8);
    // STEPS_DECODER=0: four stages, the weights are stage 4's.
    const four = commands(plan(join(dir, 'four'), { STEPS_DECODER: '0' }));
    expect(four).toHaveLength(5);
    expect(four.some((c) => c.includes('--train-decoder'))).toBe(false);
  });

  it('skips finished stages, resumes a checkpointed one, and passes TIME_<STAGE> as its time limit', () => {
    const runs = join(dir, 'partial');
    for (const s of ['rvae1', 'rvae2']) {
      mkdirSync(join(runs, s, 'weights'), { recursive: true });
      writeFileSync(join(runs, s, 'done'), '');
      writeFileSync(join(runs, s, 'weights', 'manifest.json'), '{}');
    }
    mkdirSync(join(runs, 'unet'), { recursive: true });
    writeFileSync(join(runs, 'unet', 'checkpoint.safetensors'), '');
    writeFileSync(join(runs, 'unet', 'log.jsonl'), '{"step":1,"loss":1}\n{"step":2,"loss":0.5}\n');
    const out = plan(runs, { TIME_UNET: '600', STEPS_UNET: '40' });
    expect(out).toMatch(/stage 1\/5 rvae1: done/);
    expect(out).toMatch(/stage 2\/5 rvae2: done/);
    expect(out).toMatch(/stage 3\/5 unet: resumes after step 2/);
    const [unet, onestep] = commands(out);
    expect(unet).toContain('--resume');
    expect(flag(unet, '--time-limit')).toBe('600');
    expect(flag(unet, '--steps')).toBe('40');
    expect(onestep).not.toContain('--resume');
    expect(flag(onestep, '--init')).toBe(join(runs, 'unet', 'weights'));
  });

  it('plans the one-step A/B on the stage schedule, and skips it once chosen or set', () => {
    const runs = join(dir, 'ab');
    for (const s of ['rvae1', 'rvae2', 'unet']) {
      mkdirSync(join(runs, s, 'weights'), { recursive: true });
      writeFileSync(join(runs, s, 'done'), '');
      writeFileSync(join(runs, s, 'weights', 'manifest.json'), '{}');
    }
    const out = plan(runs, { ONESTEP_AB: '300' });
    const arms = out.split('\n').filter((l) => /^  ab (lora|base): node bin\/rddm\.js train /.test(l)).map((l) => l.replace(/^  ab \w+: /, '').split(/\s+/));
    const evals = out.split('\n').filter((l) => /^  ab (lora|base): node bin\/rddm\.js eval /.test(l)).map((l) => l.replace(/^  ab \w+: /, '').split(/\s+/));
    const [onestep] = commands(out);
    expect(arms).toHaveLength(2);
    expect(arms.map((a) => a.includes('--train-unet-base'))).toEqual([false, true]);
    for (const a of arms) {
      expect(flag(a, '--stop-at')).toBe('300');
      for (const f of ['--steps', '--lr', '--init', '--seed', '--crop', '--batch', '--timestep', '--colour-fix']) expect(flag(a, f), f).toBe(flag(onestep, f));
      expect(flag(a, '--run')).not.toBe(flag(onestep, '--run'));
    }
    expect(evals.map((e) => flag(e, '--weights'))).toEqual(arms.map((a) => flag(a, '--out')));
    for (const e of evals) expect(flag(e, '--data')).toMatch(/^data\/photos\/validation$/);
    // Chosen already (the choice file's first character), or set through the environment: no A/B, the flag follows.
    mkdirSync(join(runs, 'onestep-ab'), { recursive: true });
    writeFileSync(join(runs, 'onestep-ab', 'choice'), '1 (base; sRGB PSNR on validation at step 300: lora 30.1 dB, base 30.2 dB)\n');
    const chosen = plan(runs);
    expect(chosen).not.toMatch(/ ab (lora|base): /);
    expect(commands(chosen)[0]).toContain('--train-unet-base');
    const set = plan(runs, { ONESTEP_TRAIN_BASE: '0' });
    expect(set).not.toMatch(/ ab (lora|base): /);
    expect(commands(set)[0]).not.toContain('--train-unet-base');
  });
});
