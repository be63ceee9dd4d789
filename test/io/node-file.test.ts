import { mkdtemp, open, readdir, readFile, rm, mkdir, writeFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSafetensors, serializeSafetensors } from '../../src/io/safetensors.js';
import { writeFileAtomic } from '../../src/node/atomic-write.js';
import { openFileSource } from '../../src/node/file-source.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rddm-io-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const leftovers = async (): Promise<string[]> => (await readdir(dir)).filter((n) => n.includes('.tmp-'));

describe('writeFileAtomic', () => {
  it('writes chunks, bytes and strings, replacing the old file', async () => {
    const path = join(dir, 'a.safetensors');
    const w = new Float32Array([1, 2, 3]);
    await writeFileAtomic(path, serializeSafetensors({ w: { dtype: 'F32', shape: [3], data: w } }));
    const src = await openFileSource(path);
    try {
      const f = await openSafetensors(src);
      expect(src.name).toBe(path);
      expect([...(await f.getFloat32('w'))]).toEqual([1, 2, 3]);
    } finally {
      await src.close();
    }
    await writeFileAtomic(path, new Uint8Array([1, 2]));
    expect([...(await readFile(path))]).toEqual([1, 2]);
    await writeFileAtomic(path, 'héllo');
    expect(await readFile(path, 'utf8')).toBe('héllo');
    expect(await leftovers()).toEqual([]);
  });

  it('leaves the old file intact and no temp file when writing fails', async () => {
    const path = join(dir, 'keep.txt');
    await writeFile(path, 'old');
    const bad = [new Uint8Array([1]), { not: 'bytes' } as unknown as Uint8Array];
    await expect(writeFileAtomic(path, bad)).rejects.toThrow(/chunks must be Uint8Array/);
    expect(await readFile(path, 'utf8')).toBe('old');
    expect(await leftovers()).toEqual([]);
    // A producer that fails after the first chunk has already been written.
    const failing = [new Uint8Array([1, 2, 3]), new Uint8Array([4])];
    Object.defineProperty(failing, 1, { get: () => { throw new Error('producer died'); } });
    await expect(writeFileAtomic(path, failing)).rejects.toThrow(/producer died/);
    expect(await readFile(path, 'utf8')).toBe('old');
    expect(await leftovers()).toEqual([]);

    const target = join(dir, 'is-a-dir');
    await mkdir(join(target, 'child'), { recursive: true });
    await expect(writeFileAtomic(target, 'x')).rejects.toThrow(); // rename onto a non-empty directory
    expect((await stat(target)).isDirectory()).toBe(true);
    expect(await leftovers()).toEqual([]);

    await expect(writeFileAtomic(join(dir, 'missing', 'f'), 'x')).rejects.toThrow(/ENOENT/);
  });
});

describe('openFileSource', () => {
  it('rejects reads outside the file', async () => {
    const path = join(dir, 'small.bin');
    await writeFile(path, new Uint8Array(10));
    const src = await openFileSource(path);
    try {
      expect(src.size).toBe(10);
      expect((await src.read(2, 8)).length).toBe(8);
      await expect(src.read(5, 6)).rejects.toThrow(/cannot read 6 bytes at offset 5; the source is 10 bytes/);
    } finally {
      await src.close();
    }
  });

  // NTFS does not make sparse files by default; elsewhere this 3 GB file occupies a few KB.
  it.skipIf(process.platform === 'win32')('reads tensors past 2 GB and 4 GB in a sparse file', async () => {
    const path = join(dir, 'sparse.safetensors');
    const gap = 4_500_000_000;
    const near = new Float32Array([1, -2]);
    const far = new Uint16Array([0x3c00, 0xc100, 0x7bff]); // f16 1, -2.5, 65504
    const header = JSON.stringify({
      near: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      far: { dtype: 'F16', shape: [3], data_offsets: [gap, gap + 6] },
    });
    const json = new TextEncoder().encode(header);
    const prefix = new Uint8Array(8);
    new DataView(prefix.buffer).setBigUint64(0, BigInt(json.length), true);
    const h = await open(path, 'w');
    try {
      await h.write(prefix, 0, 8, 0);
      await h.write(json, 0, json.length, 8);
      await h.write(new Uint8Array(near.buffer), 0, 8, 8 + json.length);
      await h.write(new Uint8Array(far.buffer), 0, 6, 8 + json.length + gap);
    } finally {
      await h.close();
    }
    const src = await openFileSource(path);
    try {
      expect(src.size).toBe(8 + json.length + gap + 6);
      const f = await openSafetensors(src);
      expect(f.keys()).toEqual(['near', 'far']);
      expect([...(await f.getFloat32('near'))]).toEqual([1, -2]);
      expect([...(await f.getFloat32('far'))]).toEqual([1, -2.5, 65504]);
    } finally {
      await src.close();
      await rm(path);
    }
  });
});
