import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openFileSource } from './file-source.js';
import { writeFileAtomic } from './atomic-write.js';
import { loadRddm, saveRddm, type RddmManifest } from '../rddm/weights.js';
import type { RddmSystem } from '../rddm/system.js';

export async function saveRddmDir(sys: RddmSystem, dir: string, extra: Record<string, unknown> = {}): Promise<RddmManifest> {
  mkdirSync(dir, { recursive: true });
  return saveRddm(sys, (name, chunks) => writeFileAtomic(join(dir, name), chunks), extra);
}

export async function loadRddmDir(dir: string): Promise<{ sys: RddmSystem; manifest: RddmManifest }> {
  return loadRddm(
    (name) => openFileSource(join(dir, name)),
    async (name) => readFileSync(join(dir, name), 'utf8'),
    dir,
  );
}
