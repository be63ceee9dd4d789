// Bounded, seeded fuzzing for the parsers: runFuzz puts every input (from ./fuzz-mutators.ts) under a per-case
// time bound backed by a watchdog thread (a parser stuck in a loop kills the test process with the case's label
// instead of hanging CI) and an allocation guard (a typed array or ArrayBuffer larger than the bound a reader
// promises fails the case, even when the reader catches the error). Every case must return a correct result or
// throw an error of the reader's own class; FUZZ_CASES=N raises the number of cases of every fuzz test.

import { expect } from 'vitest';
import { Watchdog } from './watchdog.js';
import type { FuzzInput } from './fuzz-mutators.js';

export * from './fuzz-mutators.js';

/** Cases to run: `dflt`, or FUZZ_CASES from the environment when that is larger. */
export function fuzzCount(dflt: number): number {
  const env = Number(process.env.FUZZ_CASES);
  return Number.isInteger(env) && env > dflt ? env : dflt;
}

// ---------------------------------------------------------------------------------------------------------------
// Allocation guard

/** Thrown by the guard (and recorded, since a reader may catch and wrap it). */
export class AllocationLimitError extends Error {
  override name = 'AllocationLimitError';
}

const ARRAY_TYPES = ['Uint8Array', 'Int8Array', 'Uint8ClampedArray', 'Uint16Array', 'Int16Array', 'Uint32Array', 'Int32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array'] as const;
const guard = { limit: Infinity, tripped: null as string | null };
let originals: Map<string, unknown> | null = null;

function install(): void {
  if (originals) return;
  originals = new Map();
  const g = globalThis as unknown as Record<string, new (...args: unknown[]) => object>;
  const check = (what: string, bytes: number): void => {
    if (bytes > guard.limit) {
      const msg = `${what} of ${bytes} bytes, over the ${guard.limit}-byte bound for this input`;
      guard.tripped ??= msg;
      throw new AllocationLimitError(msg);
    }
  };
  // A Proxy's construct trap, not a subclass: the arrays made stay plain typed arrays (a subclass would slow every
  // later operation on them) and the prototypes' constructors, which V8's fast paths watch, are left alone.
  const wrap = (name: string, bytesOf: (n: number) => number): void => {
    const Base = g[name]!;
    originals!.set(name, Base);
    g[name] = new Proxy(Base, {
      construct(target, args, newTarget) {
        if (typeof args[0] === 'number') check(`new ${name}(${args[0]})`, bytesOf(args[0]));
        return Reflect.construct(target, args, newTarget === g[name] ? target : newTarget);
      },
    });
  };
  for (const name of ARRAY_TYPES) {
    const per = (g[name] as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
    wrap(name, (n) => n * per);
  }
  wrap('ArrayBuffer', (n) => n);
}

function uninstall(): void {
  if (!originals) return;
  for (const [name, ctor] of originals) (globalThis as Record<string, unknown>)[name] = ctor;
  originals = null;
}

// ---------------------------------------------------------------------------------------------------------------
// Running cases

export interface FuzzTarget<R> {
  /** Shown in the summary line. */
  name: string;
  /** Parses one input; may be async. */
  parse(bytes: Uint8Array, label: string): R | Promise<R>;
  /** The reader's own error classes: anything else thrown fails the case. */
  errors: readonly (abstract new (...args: never[]) => Error)[];
  /** Checks a successful result (expect() inside). */
  check?(result: R, input: FuzzInput): void;
  /** Checks a rejection (e.g. that the message names the file). */
  checkError?(err: Error, input: FuzzInput): void;
  /** Largest single allocation the reader may make for an input of `n` bytes. */
  allocationBound(n: number): number;
  /** Per-case time bound (ms; default 3000: the machine may be shared). The watchdog kills the process at 10 times this. */
  caseLimitMs?: number;
}

export interface FuzzSummary {
  cases: number;
  ok: number;
  rejected: number;
  totalMs: number;
  maxMs: number;
  slowest: string;
  /** Distinct rejection messages, with digits blanked, and how often each came up. */
  reasons: Map<string, number>;
}

/** Runs every input through `target` under the time bound, the watchdog and the allocation guard. */
export async function runFuzz<R>(target: FuzzTarget<R>, inputs: Iterable<FuzzInput>): Promise<FuzzSummary> {
  const limitMs = target.caseLimitMs ?? 3000;
  const dog = new Watchdog(10 * limitMs);
  const s: FuzzSummary = { cases: 0, ok: 0, rejected: 0, totalMs: 0, maxMs: 0, slowest: '', reasons: new Map() };
  try {
    for (const input of inputs) {
      const label = `${target.name} ${input.label}`;
      let result: { ok: true; value: R } | { ok: false; error: unknown } | undefined;
      guard.limit = target.allocationBound(input.bytes.length);
      guard.tripped = null;
      dog.enter(label);
      const t0 = performance.now();
      install();
      try {
        result = { ok: true, value: await target.parse(input.bytes, input.label) };
      } catch (error) {
        result = { ok: false, error };
      } finally {
        uninstall();
        dog.leave();
      }
      const ms = performance.now() - t0;
      s.cases++;
      s.totalMs += ms;
      if (ms > s.maxMs) [s.maxMs, s.slowest] = [ms, input.label];
      if (guard.tripped) throw new Error(`${label}: allocated too much: ${guard.tripped}`);
      if (result.ok) {
        s.ok++;
        target.check?.(result.value, input);
      } else {
        const e = result.error;
        if (!(e instanceof Error) || !target.errors.some((cls) => e instanceof cls)) {
          const what = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : `a non-Error ${typeof e}: ${String(e)}`;
          throw new Error(`${label}: threw ${what}`);
        }
        target.checkError?.(e, input);
        s.rejected++;
        const reason = e.message.replace(/^[^:]*: /, '').replace(/\d+(\.\d+)?/g, 'N').slice(0, 90);
        s.reasons.set(reason, (s.reasons.get(reason) ?? 0) + 1);
      }
      expect(ms, `${label} took ${ms.toFixed(0)} ms`).toBeLessThan(limitMs);
    }
  } finally {
    await dog.stop();
  }
  console.log(
    `[fuzz] ${target.name}: ${s.cases} cases (${s.ok} read, ${s.rejected} rejected, ${s.reasons.size} distinct errors) in ${s.totalMs.toFixed(0)} ms, slowest ${s.maxMs.toFixed(1)} ms (${s.slowest})`,
  );
  return s;
}
