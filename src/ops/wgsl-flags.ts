/**
 * Optional parts of a kernel template: lines between `//#if FLAG` and `//#endif` (with an optional `//#else`) are
 * kept when FLAG is set, and `@binding(#)` placeholders are numbered in the order they remain. Epilogues that add
 * a bias, a residual or an existing value, and operand layouts, become one kernel source with flags instead of
 * copies of it; a variant binds only the buffers it uses (override constants cannot remove a binding: a variable
 * referenced under a constant-false branch is still statically used, so it would have to be bound).
 */
const cache = new Map<string, Map<string, string>>();

export function withFlags(template: string, flags: Readonly<Record<string, boolean>>): string {
  const key = Object.keys(flags)
    .filter((k) => flags[k])
    .sort()
    .join(',');
  let byFlags = cache.get(template);
  if (!byFlags) cache.set(template, (byFlags = new Map()));
  let out = byFlags.get(key);
  if (out !== undefined) return out;
  const keep: boolean[] = [];
  const lines: string[] = [];
  for (const line of template.split('\n')) {
    const t = line.trim();
    const m = /^\/\/#(if|else|endif)\b\s*(!?)(\w*)/.exec(t);
    if (m) {
      if (m[1] === 'if') {
        if (!(m[3] in flags)) throw new Error(`internal: kernel template tests flag '${m[3]}', which the caller does not set`);
        const on = Boolean(flags[m[3]]) !== (m[2] === '!');
        keep.push(on && keep.every(Boolean));
      } else if (m[1] === 'else') {
        if (!keep.length) throw new Error('internal: //#else without //#if in a kernel template');
        keep[keep.length - 1] = !keep[keep.length - 1] && keep.slice(0, -1).every(Boolean);
      } else {
        if (!keep.length) throw new Error('internal: //#endif without //#if in a kernel template');
        keep.pop();
      }
      continue;
    }
    if (keep.every(Boolean)) lines.push(line);
  }
  if (keep.length) throw new Error('internal: unterminated //#if in a kernel template');
  let n = 0;
  out = lines.join('\n').replace(/@binding\(#\)/g, () => `@binding(${n++})`);
  byFlags.set(key, out);
  return out;
}
