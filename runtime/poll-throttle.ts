/**
 * dawn.node completes GPU promises by re-scheduling its event processing with `setImmediate` for as long as any
 * promise is pending: a busy loop on the main thread. On a CPU adapter (lavapipe) that loop competes with the
 * driver's own worker threads for the cores that do the actual compute. While this engine awaits the GPU, the
 * re-scheduling is stretched to 1 ms timers instead; measured here, a 512³ matmul + readback went from
 * ~52–100 ms to ~24–37 ms per iteration. Outside those awaits `setImmediate` behaves exactly as before.
 */
let depth = 0;
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
    if (depth === 0) return set(fn, ...args);
    const t = setTimeout(fn, 1, ...args);
    timers.add(t as object);
    return t;
  };
  g.clearImmediate = (h) => (h && typeof h === 'object' && timers.has(h) ? clearTimeout(h as ReturnType<typeof setTimeout>) : clear(h));
  installed = true;
}

/** Awaits a GPU promise with Dawn's polling throttled (a no-op where the throttle is not installed). */
export async function awaitGpu<T>(p: Promise<T>): Promise<T> {
  depth++;
  try {
    return await p;
  } finally {
    depth--;
  }
}
