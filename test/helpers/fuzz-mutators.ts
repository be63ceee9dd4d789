// Seeded fuzz inputs: byte-level mutants (random bytes, edge-value words, bit flips, duplicated or deleted spans,
// truncations), structure-aware mutants of TIFF entries and JSON values, and random buffers. Every input carries a
// label that reproduces it (seed and case number).

/** Seeded integers in [0, n) (mulberry32), so every case reproduces from its label. */
export function fuzzRng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/** Values that sit on the edges parsers get wrong: zero, one, sign bits, all ones. */
export const INTERESTING = [0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff];

export interface FuzzInput {
  bytes: Uint8Array;
  label: string;
}

/**
 * `count` mutants of `seed` with every mutation inside [from, to): random bytes, an interesting 16/32-bit word
 * in either byte order, bit flips, a duplicated or deleted span, or a truncation anywhere.
 */
export function mutants(seed: Uint8Array, count: number, rngSeed: number, from = 0, to = seed.length): FuzzInput[] {
  const rand = fuzzRng(rngSeed);
  const region = Math.max(1, to - from);
  const at = (n: number): number => from + rand(Math.max(1, n));
  const out: FuzzInput[] = [];
  for (let i = 0; i < count; i++) {
    const label = `case ${i} (seed ${rngSeed})`;
    const m = seed.slice();
    const dv = new DataView(m.buffer);
    const kind = rand(6);
    if (kind === 0) {
      const n = 1 + rand(4);
      for (let k = 0; k < n; k++) m[at(region)] = rand(256);
      out.push({ bytes: m, label: `${label}: ${n} random bytes` });
    } else if (kind === 1 && seed.length >= 4) {
      const pos = Math.min(at(region - 3), seed.length - 4);
      const v = INTERESTING[rand(INTERESTING.length)]!;
      if (rand(2)) dv.setUint32(pos, v >>> 0, rand(2) === 0);
      else dv.setUint16(pos, v & 0xffff, rand(2) === 0);
      out.push({ bytes: m, label: `${label}: word ${v} at ${pos}` });
    } else if (kind === 2) {
      const pos = at(region);
      m[pos]! ^= 1 << rand(8);
      out.push({ bytes: m, label: `${label}: bit flip at ${pos}` });
    } else if (kind === 3) {
      const a = at(region);
      const len = 1 + rand(Math.min(64, seed.length - a));
      const dup = new Uint8Array(seed.length + len);
      dup.set(seed.subarray(0, a + len));
      dup.set(seed.subarray(a), a + len);
      out.push({ bytes: dup, label: `${label}: ${len} bytes at ${a} duplicated` });
    } else if (kind === 4) {
      const a = at(region);
      const len = 1 + rand(Math.min(64, seed.length - a));
      const cut = new Uint8Array(seed.length - Math.min(len, seed.length - a));
      cut.set(seed.subarray(0, a));
      cut.set(seed.subarray(a + len), a);
      out.push({ bytes: cut, label: `${label}: ${len} bytes at ${a} deleted` });
    } else {
      const len = rand(seed.length);
      out.push({ bytes: m.subarray(0, len), label: `${label}: truncated to ${len}` });
    }
  }
  return out;
}

/**
 * Structure-aware mutants of a TIFF-family file (TIFF, DNG, CR2): one to three entries of IFD 0 get an interesting
 * or large value, count or type, so that sizes, offsets and counts the byte mutators rarely hit together (a
 * 30000x30000 image in a 2 KB file, a strip count of 2^31) are tried.
 */
export function tiffEntryMutants(seed: Uint8Array, count: number, rngSeed: number): FuzzInput[] {
  const rand = fuzzRng(rngSeed);
  const dv = new DataView(seed.buffer, seed.byteOffset, seed.byteLength);
  const le = seed[0] === 0x49;
  const ifd = dv.getUint32(4, le);
  const n = dv.getUint16(ifd, le);
  const big = [...INTERESTING, 30000, 65536, 1 << 20, 1 << 28, 0x3fffffff, 34892, 34893, 34894, 34895, seed.length, seed.length - 1, seed.length + 1];
  const out: FuzzInput[] = [];
  for (let i = 0; i < count; i++) {
    const m = seed.slice();
    const mv = new DataView(m.buffer);
    const parts: string[] = [];
    for (let k = 1 + rand(3); k > 0; k--) {
      const at = ifd + 2 + 12 * rand(n);
      const tag = mv.getUint16(at, le);
      const field = rand(4);
      const v = big[rand(big.length)]!;
      if (field === 0) mv.setUint16(at + 2, 1 + rand(13), le);
      else if (field === 1) mv.setUint32(at + 4, v >>> 0, le);
      else if (mv.getUint16(at + 2, le) === 3 && mv.getUint32(at + 4, le) <= 2) mv.setUint16(at + 8, v & 0xffff, le);
      else mv.setUint32(at + 8, v >>> 0, le);
      parts.push(`tag ${tag} ${['type', 'count', 'value', 'value'][field]} ${field === 0 ? mv.getUint16(at + 2, le) : v}`);
    }
    out.push({ bytes: m, label: `case ${i} (seed ${rngSeed}): ${parts.join(', ')}` });
  }
  return out;
}

/** JSON values that config loaders get wrong: wrong types, edges, huge and prototype-polluting names. */
export const JSON_EDGE_VALUES: readonly unknown[] = [
  0, -1, 1, 2, 7, 0.5, -0.25, 1e9, 2 ** 31, 2 ** 53 + 2, 1e308, -1e308, 1e-320, null, true, false, '', 'x', '1', 'constructor',
  '__proto__', 'toString', [], {}, [1, 2, 3], [[]], { a: 1 }, 'tiny-vae', 'tiny-unet', 'sd21-unet', 'sd21-vae', 'F32', 'a'.repeat(5000),
];

/**
 * Structure-aware mutants of a JSON document: one to three values anywhere in it are replaced (by an edge value
 * or another value of the same document), deleted, or their container emptied; the result is serialised again.
 */
export function jsonMutants(doc: unknown, count: number, rngSeed: number, extra: readonly unknown[] = []): FuzzInput[] {
  const rand = fuzzRng(rngSeed);
  const pool = [...JSON_EDGE_VALUES, ...extra];
  const paths: (string | number)[][] = [];
  const walk = (v: unknown, path: (string | number)[]): void => {
    paths.push(path);
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
  };
  walk(doc, []);
  const valueAt = (d: unknown, path: (string | number)[]): unknown =>
    path.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string | number, unknown>)[k] : undefined), d);
  const out: FuzzInput[] = [];
  for (let i = 0; i < count; i++) {
    let d = JSON.parse(JSON.stringify(doc)) as unknown;
    const parts: string[] = [];
    for (let n = 1 + rand(3); n > 0; n--) {
      const path = paths[rand(paths.length)]!;
      const where = path.join('.') || '(root)';
      const op = rand(8);
      const v = op < 5 ? pool[rand(pool.length)] : op < 6 ? structuredClone(valueAt(doc, paths[rand(paths.length)]!)) : undefined;
      if (path.length === 0) {
        d = v ?? null;
        parts.push(`root = ${JSON.stringify(v)?.slice(0, 30)}`);
        continue;
      }
      const parent = valueAt(d, path.slice(0, -1));
      if (!parent || typeof parent !== 'object') continue;
      const key = path[path.length - 1]!;
      const p = parent as Record<string | number, unknown>;
      if (op === 7 && Array.isArray(parent)) {
        parent.length = 0;
        parts.push(`${where}: list emptied`);
      } else if (op >= 6) {
        if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete p[key];
        parts.push(`${where} deleted`);
      } else {
        p[key] = v;
        parts.push(`${where} = ${JSON.stringify(v)?.slice(0, 30)}`);
      }
    }
    out.push({ bytes: new TextEncoder().encode(JSON.stringify(d)), label: `case ${i} (seed ${rngSeed}): ${parts.join(', ')}` });
  }
  return out;
}

/** `count` buffers of random bytes (up to `maxLen`), each starting with one of `prefixes` when given. */
export function randomInputs(count: number, rngSeed: number, maxLen: number, prefixes: readonly (readonly number[])[] = []): FuzzInput[] {
  const rand = fuzzRng(rngSeed);
  return Array.from({ length: count }, (_, i) => {
    const b = Uint8Array.from({ length: rand(maxLen) }, () => rand(256));
    const prefix = prefixes.length ? prefixes[i % (prefixes.length + 1)] : undefined;
    if (prefix && b.length >= prefix.length) b.set(prefix);
    return { bytes: b, label: `random case ${i} (seed ${rngSeed}, ${b.length} bytes)` };
  });
}

