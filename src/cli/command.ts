import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * One `rddm` sub-command. `run` returns the process exit code: 0 success, 1 runtime failure (a missing or
 * unreadable file, bad input data, a GPU error), 2 usage error (thrown as UsageError: an unknown option, a
 * missing or malformed value). Commands validate every argument before starting expensive work.
 */
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
        // `--out --seed 3` forgot the value of --out (a negative number like `-1` is still a value).
        if (value === undefined || /^--?[a-z]/i.test(value)) throw new UsageError(`option --${key} needs a value`);
      }
      flags[key] = value;
    }
  }
  return { flags, positionals };
}

export type Flags = Record<string, string | boolean>;

/** Throws a UsageError for positional arguments a command does not take. */
export function noPositionals(positionals: readonly string[]): void {
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
}

/** An integer option in [min, max], `dflt` when absent. */
export function intFlag(flags: Flags, key: string, dflt: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = flags[key];
  if (v === undefined) return dflt;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${key} must be an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in ${min}..${max}`}, got '${String(v)}'`);
  }
  return n;
}

/** `--key X` as a finite number that passes `ok` (else a usage error saying it must be `what`); undefined when absent. */
function numberFlag(flags: Flags, key: string, ok: (n: number) => boolean, what: string): number | undefined {
  const v = flags[key];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || !ok(n)) throw new UsageError(`--${key} must be ${what}, got '${String(v)}'`);
  return n;
}

/** A positive finite number option, `dflt` when absent. */
export function positiveFlag(flags: Flags, key: string, dflt: number): number {
  return numberFlag(flags, key, (n) => n > 0, 'a positive number') ?? dflt;
}

/** `--key X` as a finite number ≥ 0 (a loss weight may switch its term off); undefined when absent. */
export function nonNegativeFlag(flags: Flags, key: string): number | undefined {
  return numberFlag(flags, key, (n) => n >= 0, 'a number ≥ 0');
}

/** `--key P` as a probability in [0, 1]; undefined when absent. */
export function probabilityFlag(flags: Flags, key: string): number | undefined {
  return numberFlag(flags, key, (n) => n >= 0 && n <= 1, 'a probability in [0, 1]');
}

/** `--colour-fix SIGMA`: 0 (off) or a Gaussian σ in [0.5, 64] pixels (src/rddm/colour-fix.ts); undefined when absent. */
export function colourFixFlag(flags: Flags): number | undefined {
  return numberFlag(flags, 'colour-fix', (n) => n === 0 || (n >= 0.5 && n <= 64), '0 (off) or a σ in pixels from 0.5 to 64');
}

/** `--colour-fix-band SIGMA`: 0 (off) or the σ in pixels where the colour fix's blended band starts; undefined when absent. */
export function colourFixBandFlag(flags: Flags): number | undefined {
  return numberFlag(flags, 'colour-fix-band', (n) => n === 0 || (n >= 0.5 && n <= 64), '0 (off) or a σ in pixels from 0.5 to 64');
}

/** Sets parsed --colour-fix / --colour-fix-band values on a loaded system's config and checks them together. */
export function applyColourFix(config: { colourFixSigma?: number; colourFixBand?: number }, sigma: number | undefined, band: number | undefined): void {
  if (sigma !== undefined) config.colourFixSigma = sigma;
  if (band !== undefined) config.colourFixBand = band;
  const [s, b] = [config.colourFixSigma ?? 0, config.colourFixBand ?? 0];
  if (s > 0 && b > 0 && b >= s) throw new UsageError(`--colour-fix-band (${b}) must be below the colour fix's σ (${s}); pass --colour-fix-band 0 to blend no band`);
}

/** Throws (exit 1) unless `path` is an existing file; `what` says what it was for. */
export function inputFile(path: string, what = 'input file'): void {
  if (!existsSync(path)) throw new Error(`${path}: no such ${what}`);
  if (statSync(path).isDirectory()) throw new Error(`${path}: is a folder, not a file (${what})`);
}

/**
 * Throws (exit 1) unless `dir` holds weights: our own (manifest.json) or a diffusers folder (unet/config.json, e.g. an
 * `rddm export --to diffusers` or a Stable Diffusion 2.1 pipeline). `what` says what the manifest is for.
 */
export function inputWeights(dir: string, what: string): void {
  if (!existsSync(join(dir, 'manifest.json')) && existsSync(join(dir, 'unet', 'config.json'))) return;
  inputFile(join(dir, 'manifest.json'), `${what.replace(/\)$/, '')}; nor is it a diffusers folder: no unet/config.json)`);
}

/** Throws (exit 1) unless `path` is an existing folder. */
export function inputDir(path: string, what = 'folder'): void {
  if (!existsSync(path) || !statSync(path).isDirectory()) throw new Error(`${path}: no such ${what}`);
}

/** Throws (exit 1) unless the folder an output goes to exists, so a typo fails before the work, not after it. */
export function outputPath(path: string, flag: string): void {
  const dir = dirname(resolve(path));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`${flag} ${path}: the folder ${dir} does not exist`);
  if (existsSync(path) && statSync(path).isDirectory()) throw new Error(`${flag} ${path}: is a folder; name a file`);
}
