// The fuzz harness itself (test/helpers/fuzz.ts): it must fail a case that allocates past its bound (even when the
// reader catches the error), that throws a non-Error or a foreign error class; and its watchdog must kill a
// process stuck in a synchronous loop, naming the case.

import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../../src/io/bytes.js';
import { runFuzz, type FuzzTarget } from '../helpers/fuzz.js';

const base: FuzzTarget<number> = {
  name: 'harness',
  parse: () => 1,
  errors: [FormatError],
  allocationBound: (n) => 16 * n,
};
const one = [{ bytes: new Uint8Array(100), label: 'the case' }];

describe('fuzz harness', () => {
  it('accepts results and the reader’s own errors', async () => {
    const s = await runFuzz({ ...base, parse: (b) => (b.length ? 1 : Promise.reject(new FormatError('x', 'empty'))) }, [...one, { bytes: new Uint8Array(0), label: 'empty' }]);
    expect([s.cases, s.ok, s.rejected]).toEqual([2, 1, 1]);
  });

  it('fails an allocation past the bound, even one the reader catches and wraps', async () => {
    const greedy = () => {
      try {
        return new Float32Array(1000).length;
      } catch {
        throw new FormatError('x', 'too big');
      }
    };
    await expect(runFuzz({ ...base, parse: greedy }, one)).rejects.toThrow(/harness the case: allocated too much: new Float32Array\(1000\) of 4000 bytes, over the 1600-byte bound/);
    await expect(runFuzz({ ...base, parse: () => Uint16Array.from({ length: 5000 }, () => 1).length }, one)).rejects.toThrow(/allocated too much/);
    // The guard is gone afterwards.
    expect(new Float32Array(1 << 20).length).toBe(1 << 20);
  });

  it('fails a non-Error throw and an error of a foreign class', async () => {
    await expect(runFuzz({ ...base, parse: () => Promise.reject('a string') }, one)).rejects.toThrow(/threw a non-Error string: a string/);
    await expect(runFuzz({ ...base, parse: () => (null as unknown as number[]).length }, one)).rejects.toThrow(/threw TypeError/);
  });

  it('the watchdog kills a process stuck in a loop and names the case', () => {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ['scripts/run-ts.mjs', 'test/helpers/hang-fixture.ts', '300'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.signal).toBe('SIGKILL');
    expect(r.stderr).toMatch(/\[fuzz\] HANG: hang fixture case 7 ran for more than 300 ms; killing the test process/);
    expect(performance.now() - t0).toBeLessThan(30_000);
    // run-ts.mjs removes its bundle in a `finally` that a SIGKILL skips.
    for (const f of readdirSync('.cache/run').filter((f) => f.startsWith(`hang-fixture.${r.pid}.`))) rmSync(`.cache/run/${f}`);
  });
});
