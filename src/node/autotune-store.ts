// Node storage for the matmul autotuner's choices: one small JSON file per adapter, .cache/autotune-<key>.json
// (the key hashes the adapter and the tuner's version). Reads are synchronous because the first matmul on an
// adapter looks its choice up inline; writes go through the atomic writer so a crash never leaves half a file.

import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AutotuneStorage } from '../ops/autotune.js';
import { writeFileAtomic } from './atomic-write.js';

export function nodeAutotuneStorage(dir = '.cache'): AutotuneStorage {
  const file = (key: string) => join(dir, `autotune-${key}.json`);
  return {
    get(key) {
      try {
        return readFileSync(file(key), 'utf8');
      } catch {
        return null;
      }
    },
    async set(key, value) {
      mkdirSync(dir, { recursive: true });
      await writeFileAtomic(file(key), value);
    },
  };
}
