/** One `rddm` sub-command. `run` returns the process exit code: 0 success, 1 runtime failure, 2 usage error. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(args: string[]): Promise<number>;
}

/** Thrown for bad command-line use; main prints the message and the command's usage, and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Minimal flag parser: `--key value`, `--key=value`, boolean `--flag`, and positionals. */
export function parseArgs(
  args: string[],
  spec: { boolean?: string[]; string?: string[]; alias?: Record<string, string> },
): { flags: Record<string, string | boolean>; positionals: string[] } {
  const flags: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  const known = new Set([...(spec.boolean ?? []), ...(spec.string ?? [])]);
  for (let i = 0; i < args.length; i++) {
    let a = args[i];
    if (a === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      positionals.push(a);
      continue;
    }
    if (spec.alias?.[a]) a = spec.alias[a];
    let key = a.replace(/^--?/, '');
    let value: string | undefined;
    const eq = key.indexOf('=');
    if (eq >= 0) {
      value = key.slice(eq + 1);
      key = key.slice(0, eq);
    }
    if (!known.has(key)) throw new UsageError(`unknown option --${key}`);
    if (spec.boolean?.includes(key)) {
      if (value !== undefined) throw new UsageError(`option --${key} takes no value`);
      flags[key] = true;
    } else {
      if (value === undefined) {
        value = args[++i];
        if (value === undefined) throw new UsageError(`option --${key} needs a value`);
      }
      flags[key] = value;
    }
  }
  return { flags, positionals };
}
