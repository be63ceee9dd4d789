/**
 * Where two JSON-like run configs differ, as `path: saved → now` lines (nested objects by dotted path, arrays and
 * values compared as JSON). A resumed run compares its flags with the checkpoint's this way, so a changed setting
 * is refused by name instead of silently continuing a different run.
 */
export function configChanges(saved: unknown, now: unknown, path = ''): string[] {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObj(saved) && isObj(now)) {
    const keys = [...new Set([...Object.keys(saved), ...Object.keys(now)])];
    return keys.flatMap((k) => configChanges(saved[k], now[k], path ? `${path}.${k}` : k));
  }
  const [a, b] = [JSON.stringify(saved), JSON.stringify(now)];
  return a === b ? [] : [`${path || '(config)'}: ${a ?? 'absent'} → ${b ?? 'absent'}`];
}
