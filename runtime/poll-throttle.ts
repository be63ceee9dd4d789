/**
 * dawn.node completes GPU promises by re-scheduling its event processing with `setImmediate` for as long as any
 * promise is pending: a busy loop on the main thread. On a CPU adapter (lavapipe) that loop competes with the
 * driver's own worker threads for the cores that do the actual compute. While this engine awaits the GPU, the
 * re-scheduling is stretched to 1 ms timers instead; measured here, a 512³ matmul + readback went from
 * ~52–100 ms to ~24–37 ms per iteration. Outside those awaits `setImmediate` behaves exactly as before.
 *
 * The first polls of each await still run immediately: on a real GPU most waits end within microseconds, and a
 * 1 ms timer from the first poll added ~1 ms to every small op + readback (seen on an H100: a 1M-element
 * elementwise op measured 1.5 ms against tfjs's 0.5 ms).
 */
let depth = 0;
let polls = 0;
/** Polls per await that run at once before the 1 ms throttle starts (a few hundred µs of busy polling at most). */
const IMMEDIATE_POLLS = 16;
let installed = false;

export function installPollThrottle(): void {
  const g = globalThis as unknown as {
    setImmediate?: (fn: (...a: unknown[]) => void, ...args: unknown[]) => unknown;
    clearImmediate?: (h: unknown) => void;
  };
  if (installed || (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.RDDM_NO_POLL_THROTTLE || typeof g.setImmediate !== 'function' || typeof g.clearImmediate !== 'function') return;
  const set = g.setImmediate;
  const clear = g.clearImmediate;
  const timers = new WeakSet<object>();
  g.setImmediate = (fn, ...args) => {
    if (depth === 0 || polls++ < IMMEDIATE_POLLS) return set(fn, ...args);
    const t = setTimeout(fn, 1, ...args);
    timers.add(t as object);
    return t;
  };
  g.clearImmediate = (h) => (h && typeof h === 'object' && timers.has(h) ? clearTimeout(h as ReturnType<typeof setTimeout>) : clear(h));
  installed = true;
}

/** Awaits a GPU promise with Dawn's polling throttled (a no-op where the throttle is not installed). */
export async function awaitGpu<T>(p: Promise<T>): Promise<T> {
  if (depth++ === 0) polls = 0;
  try {
    return await p;
  } finally {
    depth--;
  }
}
