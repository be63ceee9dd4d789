// A training run killed with SIGKILL at random moments (mid-step or mid-checkpoint) always leaves a loadable last
// checkpoint, and `--resume` finishes with the same losses as an uninterrupted run.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSafetensors } from '../../src/io/safetensors.js';
import { openFileSource } from '../../src/node/file-source.js';
import { readCheckpoint } from '../../src/train/checkpoint.js';
import { need } from '../helpers/requirements.js';

const dir = mkdtempSync(join(tmpdir(), 'rddm-kill-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ARGS = ['--stage', '1', '--steps', '8', '--crop', '16', '--batch', '1', '--seed', '4'];

function train(run: string, extra: string[], killAfterMs?: number): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/rddm.js', 'train-rvae', ...ARGS, '--run', run, '--out', join(run, 'w'), ...extra], {
      stdio: 'ignore',
      env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
    });
    const timer = killAfterMs === undefined ? null : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('exit', (code) => {
      if (timer) clearTimeout(timer);
      resolve(code);
    });
  });
}

const losses = (run: string) =>
  readFileSync(join(run, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { step: number; loss: number })
    .map((r) => [r.step, r.loss]);

describe('SIGKILL during training', () => {
  it('leaves a loadable checkpoint, and resuming reproduces the uninterrupted losses', async () => {
    need('data/photos/train/coffee.png');
    const ref = join(dir, 'ref');
    const t0 = performance.now();
    expect(await train(ref, [])).toBe(0);
    const full = performance.now() - t0;
    const killed = join(dir, 'killed');
    // Kill points spread over the second half of a run (steps and checkpoint writes: 8 steps checkpoint every step).
    let kills = 0;
    for (const f of [0.6, 0.75, 0.9]) {
      const code = await train(killed, existsSync(join(killed, 'checkpoint.safetensors')) ? ['--resume'] : [], f * full);
      if (code === null) kills++;
      if (existsSync(join(killed, 'checkpoint.safetensors'))) {
        const src = await openFileSource(join(killed, 'checkpoint.safetensors'));
        const ck = await readCheckpoint(await openSafetensors(src));
        await src.close();
        expect(ck.state.step).toBeGreaterThanOrEqual(1);
      }
    }
    expect(kills).toBeGreaterThan(0);
    const resume = existsSync(join(killed, 'checkpoint.safetensors')) ? ['--resume'] : [];
    expect(await train(killed, resume)).toBe(0);
    expect(losses(killed)).toEqual(losses(ref));
  }, 300_000);
});
