import { readFileSync, mkdirSync, existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { openFileSource } from './file-source.js';
import { writeFileAtomic } from './atomic-write.js';
import { loadRddm, saveRddm, type RddmManifest } from '../rddm/weights.js';
import { exportDiffusers } from '../rddm/diffusers-export.js';
import { importDiffusers, isDiffusersFolder, type FolderReader, type ImportOptions } from '../rddm/diffusers-import.js';
import type { RddmSystem } from '../rddm/system.js';

export async function saveRddmDir(sys: RddmSystem, dir: string, extra: Record<string, unknown> = {}): Promise<RddmManifest> {
  mkdirSync(dir, { recursive: true });
  return saveRddm(sys, (name, chunks) => writeFileAtomic(join(dir, name), chunks), extra);
}

/** File access below `dir`, for the platform-neutral diffusers reader. */
export function folderReader(dir: string): FolderReader {
  return {
    where: dir,
    exists: async (p) => existsSync(join(dir, p)) && statSync(join(dir, p)).isFile(),
    readText: async (p) => readFileSync(join(dir, p), 'utf8'),
    open: (p) => openFileSource(join(dir, p)),
  };
}

/**
 * RDDM weights from `dir`: our own (manifest.json) or a diffusers folder (an `rddm export --to diffusers`, a folder
 * trained further in PyTorch, or a plain pipeline such as SD 2.1's), converted in memory.
 */
export async function loadRddmDir(dir: string, opts: ImportOptions = {}): Promise<{ sys: RddmSystem; manifest: RddmManifest }> {
  if (!existsSync(join(dir, 'manifest.json')) && (await isDiffusersFolder(folderReader(dir)))) {
    const { sys, extras } = await importDiffusers(folderReader(dir), opts);
    return { sys, manifest: { ...extras, format: 'rddm-weights-1', config: sys.config, files: {} } };
  }
  return loadRddm(
    (name) => openFileSource(join(dir, name)),
    async (name) => readFileSync(join(dir, name), 'utf8'),
    dir,
  );
}

/** Writes `sys` as diffusers + PEFT folders under `out` (see src/rddm/diffusers-export.ts); returns the files written. */
export async function exportDiffusersDir(sys: RddmSystem, out: string, extras: Record<string, unknown> = {}): Promise<string[]> {
  return exportDiffusers(
    sys,
    async (path, chunks) => {
      mkdirSync(dirname(join(out, path)), { recursive: true });
      await writeFileAtomic(join(out, path), chunks);
    },
    extras,
  );
}
