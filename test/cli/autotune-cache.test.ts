// The rddm CLI keeps the matmul autotune's choice in the user's cache dir (src/cli/main.ts): the first process on
// an adapter tunes and stores it, the next reads it instead of tuning again.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('rddm CLI matmul autotune cache', () => {
  it('stores the tuned choice in $RDDM_CACHE_DIR and reuses it in the next process', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rddm-cache-'));
    try {
      const run = () =>
        spawnSync(process.execPath, ['bin/rddm.js', 'profile', 'matmul', '--size', '256', '--steps', '1'], {
          encoding: 'utf8',
          timeout: 120_000,
          env: { ...process.env, RDDM_CACHE_DIR: dir },
        });
      const first = run();
      expect(first.status, first.stderr).toBe(0);
      const files = readdirSync(dir).filter((f) => /^autotune-[0-9a-f]{8}\.json$/.test(f));
      expect(files).toHaveLength(1);
      const file = join(dir, files[0]);
      const stored = JSON.parse(readFileSync(file, 'utf8')) as { version: number; source: string; config: { kernel: string } };
      expect(stored.source).toBe('tuned');
      expect(['subgroup', 'tiled', 'general']).toContain(stored.config.kernel);
      const written = statSync(file).mtimeMs;

      const second = run();
      expect(second.status, second.stderr).toBe(0);
      expect(readdirSync(dir).filter((f) => f.startsWith('autotune-'))).toEqual(files);
      expect(statSync(file).mtimeMs).toBe(written); // read, not tuned and written again
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
