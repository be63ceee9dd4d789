// `rddm profile`: runs a workload, prints the top-kernel table and writes a Chrome trace.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { profile } from '../../src/cli/commands/profile.js';
import { UsageError } from '../../src/cli/command.js';

const dir = mkdtempSync(join(tmpdir(), 'rddm-profile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('rddm profile', () => {
  it('prints kernels with calls and time and writes a trace-event file', async () => {
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    try {
      expect(await profile.run(['train-step', '--size', '8', '--trace', join(dir, 't.json')])).toBe(0);
    } finally {
      log.mockRestore();
    }
    const text = lines.join('\n');
    expect(text).toMatch(/train-step on .*wall [\d.]+ ms, GPU kernels [\d.]+ ms/);
    expect(text).toMatch(/kernel\s+calls\s+total ms\s+share\s+GFLOP\/s/);
    expect(text).toMatch(/memory: live [\d.]+ MiB, peak [\d.]+ MiB/);
    const trace = JSON.parse(readFileSync(join(dir, 't.json'), 'utf8')) as { traceEvents: { ph: string; name: string }[] };
    expect(trace.traceEvents.some((e) => e.ph === 'X' && e.name.startsWith('conv2d'))).toBe(true);
  }, 120_000);

  it('rejects unknown workloads', async () => {
    await expect(profile.run(['nope'])).rejects.toThrow(UsageError);
  });
});
