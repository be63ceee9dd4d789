import { describe, expect, it } from 'vitest';
import { roundTripBf16, roundTripF16 } from '../../src/io/half.js';
import {
  blobSource,
  concatBytes,
  memorySource,
  openSafetensors,
  SafetensorsError,
  serializeSafetensors,
  type ByteSource,
} from '../../src/io/safetensors.js';

const bitsOf = (a: Float32Array): number[] => [...new Uint32Array(a.buffer, a.byteOffset, a.length)];

function randomF32(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = ((s / 2 ** 32) * 2 - 1) * 2 ** ((s % 40) - 20);
  }
  return out;
}

/** Builds a file the way the format spec describes it: u64 LE header length, JSON, then raw data. */
function handmade(header: string, data: Uint8Array, name = 'model.safetensors'): ByteSource {
  const json = new TextEncoder().encode(header);
  const bytes = new Uint8Array(8 + json.length + data.length);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
  bytes.set(json, 8);
  bytes.set(data, 8 + json.length);
  return memorySource(bytes, name);
}

async function rejects(src: ByteSource, pattern: RegExp): Promise<void> {
  const err = await openSafetensors(src).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SafetensorsError);
  expect((err as Error).message).toMatch(pattern);
}

describe('safetensors round trip', () => {
  const special = new Float32Array(new Uint32Array([0x7fc00001, 0xff800000, 0x80000000, 0x00000001, 0x7f7fffff]).buffer);
  const a = randomF32(3 * 5 * 7, 1);
  const b = randomF32(33, 2);
  const c = randomF32(64, 3);
  const tensors = {
    'conv_in.weight': { dtype: 'F32' as const, shape: [3, 5, 7], data: a },
    special: { dtype: 'F32' as const, shape: [5], data: special },
    'half.b': { dtype: 'F16' as const, shape: [33], data: b },
    'brain.c': { dtype: 'BF16' as const, shape: [4, 4, 4], data: c },
    scalar: { dtype: 'F32' as const, shape: [], data: new Float32Array([42]) },
    empty: { dtype: 'F16' as const, shape: [0, 3], data: new Float32Array(0) },
  };

  it('is bit exact for F32 and matches our own conversion for F16/BF16', async () => {
    const chunks = serializeSafetensors(tensors, { format: 'pt', note: 'rddm' });
    expect(chunks.length).toBe(1 + Object.keys(tensors).length);
    const bytes = concatBytes(chunks);
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLen % 8).toBe(0);
    const f = await openSafetensors(memorySource(bytes, 'rt.safetensors'));
    expect(f.metadata).toEqual({ format: 'pt', note: 'rddm' });
    expect(new Set(f.keys())).toEqual(new Set(Object.keys(tensors)));
    expect(f.info('conv_in.weight')).toEqual({ dtype: 'F32', shape: [3, 5, 7] });
    expect(f.info('scalar').shape).toEqual([]);
    expect(bitsOf(await f.getFloat32('conv_in.weight'))).toEqual(bitsOf(a));
    expect(bitsOf(await f.getFloat32('special'))).toEqual(bitsOf(special));
    expect(bitsOf(await f.getFloat32('half.b'))).toEqual(bitsOf(roundTripF16(b)));
    expect(bitsOf(await f.getFloat32('brain.c'))).toEqual(bitsOf(roundTripBf16(c)));
    expect([...(await f.getFloat32('scalar'))]).toEqual([42]);
    expect((await f.getFloat32('empty')).length).toBe(0);
  });

  it('is deterministic, sorts keys and does not hoist numeric keys', () => {
    const one = { dtype: 'F32' as const, shape: [1], data: new Float32Array([1]) };
    const h1 = new TextDecoder().decode(serializeSafetensors({ b: one, '10': one, '2': one, a: one }, { z: 'v1', '9': 'v2' })[0]);
    const h2 = new TextDecoder().decode(serializeSafetensors({ a: one, '2': one, b: one, '10': one }, { '9': 'v2', z: 'v1' })[0]);
    expect(h1).toBe(h2);
    const order = ['__metadata__', '10', '2', 'a', 'b'].map((k) => h1.indexOf(`"${k}"`));
    expect(order).toEqual([...order].sort((x, y) => x - y));
    expect(h1.indexOf('"9"')).toBeLessThan(h1.indexOf('"z"'));
  });

  it('reads large tensors in chunks without reading the whole file', async () => {
    const big = randomF32(1000, 9);
    const bytes = concatBytes(serializeSafetensors({ big: { dtype: 'F16', shape: [1000], data: big }, other: { dtype: 'F32', shape: [10], data: big.subarray(0, 10) } }));
    const reads: [number, number][] = [];
    const inner = memorySource(bytes);
    // Odd byte offsets from the source force the reader's unaligned-copy path.
    const spy: ByteSource = {
      size: inner.size,
      name: 'spy',
      async read(o, n) {
        reads.push([o, n]);
        const padded = new Uint8Array(n + 1);
        padded.set(await inner.read(o, n), 1);
        return padded.subarray(1);
      },
    };
    const f = await openSafetensors(spy, { chunkBytes: 130 });
    reads.length = 0;
    expect(bitsOf(await f.getFloat32('big'))).toEqual(bitsOf(roundTripF16(big)));
    expect(reads.length).toBe(Math.ceil(2000 / 130));
    expect(Math.max(...reads.map(([, n]) => n))).toBeLessThanOrEqual(130);
    expect(reads.reduce((s, [, n]) => s + n, 0)).toBe(2000);
  });

  it('rejects bad writer input', () => {
    const d = new Float32Array(5);
    expect(() => serializeSafetensors({ x: { dtype: 'F32', shape: [2, 3], data: d } })).toThrow(/'x' has shape \[2,3\] \(6 elements\) but its data has 5/);
    expect(() => serializeSafetensors({ __metadata__: { dtype: 'F32', shape: [5], data: d } })).toThrow(/reserved/);
    expect(() => serializeSafetensors({ x: { dtype: 'I64' as 'F32', shape: [5], data: d } })).toThrow(/only F32, F16 and BF16/);
  });

  it('reads from a Blob, one slice per tensor', async () => {
    const blob = new Blob(serializeSafetensors(tensors));
    const f = await openSafetensors(blobSource(blob));
    expect(f.name).toBe('blob');
    expect(bitsOf(await f.getFloat32('conv_in.weight'))).toEqual(bitsOf(a));
    const file = new File([blob], 'weights.safetensors');
    expect((await openSafetensors(blobSource(file))).name).toBe('weights.safetensors');
  });
});

describe('files laid out by hand from the format spec', () => {
  it('parses an unpadded header, unsorted offsets and non-float dtypes', async () => {
    const data = new Uint8Array(8 + 4 + 8 + 2);
    const dv = new DataView(data.buffer);
    dv.setUint16(0, 0x3c00, true); // F16 1.0
    dv.setUint16(2, 0xc100, true); // F16 -2.5
    dv.setFloat32(4, 0.5, true);
    dv.setFloat32(8, -3, true);
    dv.setUint16(12, 0x3f80, true); // BF16 1.0
    dv.setBigInt64(14, -7n, true);
    const header =
      '{"w":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},"h":{"dtype":"F16","shape":[1,2],"data_offsets":[0,4]},' +
      '"__metadata__":{"format":"pt"},"i":{"dtype":"I64","shape":[1],"data_offsets":[14,22]},"bf":{"dtype":"BF16","shape":[1],"data_offsets":[12,14]}}';
    const f = await openSafetensors(handmade(header, data));
    expect(f.keys()).toEqual(['h', 'w', 'bf', 'i']);
    expect(f.metadata).toEqual({ format: 'pt' });
    expect([...(await f.getFloat32('h'))]).toEqual([1, -2.5]);
    expect([...(await f.getFloat32('w'))]).toEqual([0.5, -3]);
    expect([...(await f.getFloat32('bf'))]).toEqual([1]);
    expect(f.info('i')).toEqual({ dtype: 'I64', shape: [1] });
    const raw = await f.getBytes('i');
    expect(new DataView(raw.buffer, raw.byteOffset).getBigInt64(0, true)).toBe(-7n);
    await expect(f.getFloat32('i')).rejects.toThrow(/tensor 'i' has unsupported dtype I64; only F32, F16 and BF16/);
    await expect(f.getFloat32('nope')).rejects.toThrow(/no tensor 'nope'; the file has 4 tensors \('h', 'w', 'bf', 'i'\)/);
  });
});

describe('invalid files give SafetensorsError naming file and tensor', () => {
  const t = (dtype: string, shape: string, offs: string): string => `{"dtype":"${dtype}","shape":${shape},"data_offsets":${offs}}`;
  const data16 = new Uint8Array(16);

  it('offsets beyond the data region', async () => {
    await rejects(handmade(`{"conv_in.weight":${t('F32', '[250]', '[0,1000]')}}`, new Uint8Array(640)), /^model\.safetensors: tensor 'conv_in\.weight' claims bytes 0\.\.1000 but the data region is 640 bytes/);
  });
  it('overlapping ranges', async () => {
    await rejects(handmade(`{"a":${t('F32', '[2]', '[0,8]')},"b":${t('F32', '[2]', '[4,12]')}}`, data16), /tensors 'a' \(bytes 0\.\.8\) and 'b' \(bytes 4\.\.12\) overlap/);
  });
  it('truncated file', async () => {
    const good = concatBytes(serializeSafetensors({ x: { dtype: 'F32', shape: [4], data: new Float32Array(4) } }));
    await rejects(memorySource(good.subarray(0, good.length - 1), 'cut.safetensors'), /cut\.safetensors: tensor 'x' claims bytes 0\.\.16 but the data region is 15 bytes \(truncated file\?\)/);
    await rejects(memorySource(good.subarray(0, 20), 'cut.safetensors'), /header length \d+ but only 12 bytes follow/);
    await rejects(memorySource(good.subarray(0, 5), 'cut.safetensors'), /5 bytes is too short/);
  });
  it('unknown dtype', async () => {
    await rejects(handmade(`{"x":${t('F128', '[1]', '[0,16]')}}`, data16), /tensor 'x' has unknown dtype "F128"/);
  });
  it('wrong numel', async () => {
    await rejects(handmade(`{"x":${t('F16', '[2,3]', '[0,10]')}}`, data16), /tensor 'x' has dtype F16 and shape \[2,3\] \(6 elements = 12 bytes\) but data_offsets 0\.\.10 span 10 bytes/);
  });
  it('bad shapes, offsets, metadata and JSON', async () => {
    await rejects(handmade(`{"x":${t('F32', '[-1]', '[0,4]')}}`, data16), /tensor 'x': shape must be an array of non-negative integers, got \[-1\]/);
    await rejects(handmade(`{"x":${t('F32', '[1.5]', '[0,4]')}}`, data16), /shape must be/);
    await rejects(handmade(`{"x":${t('F32', '[1]', '[4,0]')}}`, data16), /data_offsets must be \[begin, end\]/);
    await rejects(handmade(`{"x":${t('F32', '[1]', '[0]')}}`, data16), /data_offsets must be/);
    await rejects(handmade(`{"x":${t('F32', '[67108864,67108864,67108864]', '[0,4]')}}`, data16), /too large to address/);
    await rejects(handmade(`{"x":5}`, data16), /tensor 'x': header entry must be an object/);
    await rejects(handmade(`{"__metadata__":{"k":1}}`, data16), /__metadata__ 'k' must be a string/);
    await rejects(handmade(`{"x":`, data16), /header is not valid UTF-8 JSON/);
    await rejects(handmade(`[1,2]`, data16), /header must be a JSON object/);
    const bad = new Uint8Array([...new Uint8Array(8), 0x7b, 0xff, 0x7d]);
    new DataView(bad.buffer).setUint32(0, 3, true);
    await rejects(memorySource(bad, 'utf.safetensors'), /utf\.safetensors: header is not valid UTF-8 JSON/);
  });
  it('absurd header length', async () => {
    const bytes = new Uint8Array(64);
    new DataView(bytes.buffer).setUint32(4, 1, true); // 2^32
    await rejects(memorySource(bytes, 'huge'), /huge: header length 4294967296 exceeds the 100000000-byte limit/);
  });
  it('a source that returns short reads', async () => {
    const good = memorySource(concatBytes(serializeSafetensors({ x: { dtype: 'F32', shape: [4], data: new Float32Array(4) } })));
    let opened = false;
    const liar: ByteSource = { size: good.size, name: 'liar', read: async (o, n) => (await good.read(o, n)).subarray(0, opened ? n - 1 : n) };
    const f = await openSafetensors(liar);
    opened = true;
    await expect(f.getFloat32('x')).rejects.toThrow(/liar: tensor 'x': asked for 16 bytes, got 15/);
  });
});
