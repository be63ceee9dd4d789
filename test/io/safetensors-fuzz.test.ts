import { existsSync, readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { concatBytes, isFloatDtype, memorySource, openSafetensors, SafetensorsError, serializeSafetensors } from '../../src/io/safetensors.js';
import { fuzzCount, mutants, randomInputs, runFuzz, type FuzzTarget } from '../helpers/fuzz.js';

// Mutates a valid file in ways that target the header parser; every case must either parse into
// readable tensors of the declared size or throw SafetensorsError (never a TypeError, RangeError, hang).

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t ^= t + Math.imul(t ^ (t >>> 7), 61 | t);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function withHeader(json: string, data: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setUint32(0, h.length, true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

it('survives a few thousand header mutations', async () => {
  const base = concatBytes(
    serializeSafetensors(
      {
        a: { dtype: 'F32', shape: [2, 3], data: new Float32Array(6).fill(1.5) },
        b: { dtype: 'F16', shape: [5], data: new Float32Array(5).fill(-2) },
        c: { dtype: 'BF16', shape: [1, 1, 3], data: new Float32Array(3).fill(3) },
        empty: { dtype: 'F32', shape: [0], data: new Float32Array(0) },
      },
      { format: 'pt' },
    ),
  );
  const headerLen = new DataView(base.buffer).getUint32(0, true);
  const json = new TextDecoder().decode(base.subarray(8, 8 + headerLen));
  const data = base.subarray(8 + headerLen);
  const rand = rng(20240607);
  const int = (n: number): number => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const numbers = ['0', '1', '-1', '2', '4', '7', '8', '1.5', '1e400', '-0', '4294967296', '9007199254740993', '24', '48', '100', 'null', '"3"', '[]'];
  const strings = ['"F32"', '"F16"', '"BF16"', '"I64"', '"U8"', '"BOOL"', '"F64"', '"f32"', '""', '"__metadata__"', '"a"', '{}', '[0,4]', '0'];

  const mutations: (() => Uint8Array)[] = [
    () => {
      const m = base.slice();
      for (let k = 1 + int(4); k > 0; k--) m[int(8 + headerLen)] = int(256);
      return m;
    },
    () => {
      // Replace one number token, keeping the length prefix consistent so the JSON is what gets tested.
      const spots = [...json.matchAll(/-?\d+(\.\d+)?/g)];
      const s = pick(spots);
      return withHeader(json.slice(0, s.index) + pick(numbers) + json.slice(s.index + s[0].length), data);
    },
    () => {
      const spots = [...json.matchAll(/"[^"]*"/g)];
      const s = pick(spots);
      return withHeader(json.slice(0, s.index) + pick(strings) + json.slice(s.index + s[0].length), data);
    },
    () => base.slice(0, int(base.length + 1)),
    () => {
      const at = int(json.length);
      const cut = int(4);
      const junk = String.fromCharCode(...Array.from({ length: int(4) }, () => 32 + int(95)));
      const body = withHeader(json.slice(0, at) + junk + json.slice(at + cut), data);
      if (rand() < 0.3) new DataView(body.buffer).setUint32(0, headerLen, true); // stale length
      return body;
    },
    () => {
      const m = new Uint8Array(int(200));
      for (let i = 0; i < m.length; i++) m[i] = int(256);
      if (m.length >= 8 && rand() < 0.5) new DataView(m.buffer).setBigUint64(0, BigInt(int(m.length)), true);
      return m;
    },
  ];

  const t0 = performance.now();
  const cases = fuzzCount(4000);
  let parsed = 0;
  let rejected = 0;
  for (let i = 0; i < cases; i++) {
    const bytes = mutations[i % mutations.length]!();
    try {
      const f = await openSafetensors(memorySource(bytes, `case${i}`));
      for (const k of f.keys()) {
        const { dtype, shape } = f.info(k);
        try {
          const v = await f.getFloat32(k);
          expect(v.length).toBe(shape.reduce((x, d) => x * d, 1));
        } catch (err) {
          if (!(err instanceof SafetensorsError) || !/unsupported dtype/.test(err.message)) throw err;
          expect(['F32', 'F16', 'BF16']).not.toContain(dtype);
        }
      }
      parsed++;
    } catch (err) {
      if (!(err instanceof SafetensorsError)) {
        throw new Error(`case ${i}: expected SafetensorsError, got ${String(err)}`);
      }
      rejected++;
    }
  }
  const ms = performance.now() - t0;
  console.log(`safetensors fuzz: ${cases} cases (${parsed} parsed, ${rejected} rejected) in ${ms.toFixed(0)} ms`);
  expect(parsed + rejected).toBe(cases);
  expect(parsed).toBeGreaterThan(50);
  expect(rejected).toBeGreaterThan(cases / 2);
});

/** Opens a file and reads every tensor: what loading weights does. */
const readAll: FuzzTarget<number> = {
  name: 'safetensors',
  async parse(bytes, label) {
    const f = await openSafetensors(memorySource(bytes, label));
    let total = 0;
    for (const k of f.keys()) {
      const { dtype, shape } = f.info(k);
      const n = shape.reduce((x, d) => x * d, 1);
      if (isFloatDtype(dtype)) expect((await f.getFloat32(k)).length).toBe(n);
      else await f.getBytes(k);
      total += n;
    }
    return total;
  },
  errors: [SafetensorsError],
  // Tensors are read one at a time; F16/BF16 become float32, twice their bytes.
  allocationBound: (n) => 4 * n + (1 << 20),
};

it('survives mutations of shipped weight files (headers and data) and random bytes', async () => {
  const files = ['weights/rddm-tiny/context.safetensors', 'weights/rddm-tiny/raw_encoder_lora.safetensors'].filter((f) => existsSync(f));
  expect(files.length).toBeGreaterThan(0);
  for (const [k, file] of files.entries()) {
    const bytes = new Uint8Array(readFileSync(file));
    const header = 8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    const n = fuzzCount(k === 0 ? 300 : 100);
    const s = await runFuzz({ ...readAll, name: `safetensors ${file.split('/').pop()}` }, [
      { bytes, label: 'unmutated' },
      ...mutants(bytes, n, 100 + k, 0, Math.min(bytes.length, header + 64)),
    ]);
    expect(s.ok).toBeGreaterThan(0);
  }
  await runFuzz(readAll, randomInputs(fuzzCount(300), 110, 300, [[24, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x22], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]]));
});
