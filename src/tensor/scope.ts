import type { Tensor } from './tensor.js';

/**
 * Memory scopes, as tfjs's `tidy`: every tensor created inside `fn` is disposed when it returns, except the
 * tensors it returns (alone, in an array or in a plain object). Tensors saved for backward stay alive through
 * their own references until `backward()` has used them.
 */
const scopes: Set<Tensor>[] = [];

export function trackTensor(t: Tensor): void {
  scopes[scopes.length - 1]?.add(t);
}

/** Removes `t` from the current scope so it survives `tidy` (for tensors kept across steps). */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

function collect(value: unknown, out: Set<unknown>, depth = 0): void {
  if (depth > 4 || value === null || typeof value !== 'object') return;
  if ((value as { isTensor?: boolean }).isTensor) {
    out.add(value);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collect(v, out, depth + 1);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collect(v, out, depth + 1);
}

export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  if (result && typeof (result as { then?: unknown }).then === 'function') {
    throw new Error('tidy: the function returned a Promise; tidy only scopes synchronous code (await outside it)');
  }
  const kept = new Set<unknown>();
  collect(result, kept);
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (kept.has(t)) parent?.add(t);
    else t.dispose();
  }
  return result;
}
