// Checks for JSON that configures or resumes a run (weights manifests, checkpoint run state, photo lists, model
// configs). JSON from disk is untrusted: every loader validates the fields it uses and fails with a ConfigError
// naming the file, the field and what was expected, rather than crashing later on an `undefined` or building a
// model from a nonsense number.

/** A config or state file that is not what its loader expects. The message reads "SOURCE: FIELD problem". */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly source: string,
    readonly field: string,
    problem: string,
  ) {
    super(`${source}: ${field ? `${field} ` : ''}${problem}`);
  }
}

const show = (v: unknown): string => {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
};

/** Field checks bound to one source (a file name), so every error names it. */
export class ConfigCheck {
  constructor(readonly source: string) {}

  fail(field: string, problem: string): never {
    throw new ConfigError(this.source, field, problem);
  }

  /** JSON.parse, with a syntax error reported as a ConfigError. */
  parseJson(text: string): unknown {
    try {
      return JSON.parse(text);
    } catch (e) {
      return this.fail('', `is not valid JSON (${(e as Error).message})`);
    }
  }

  object(v: unknown, field: string): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(field, `must be an object, got ${show(v)}`);
    return v as Record<string, unknown>;
  }

  array(v: unknown, field: string, maxLength: number): unknown[] {
    if (!Array.isArray(v)) this.fail(field, `must be a list, got ${show(v)}`);
    if (v.length > maxLength) this.fail(field, `has ${v.length} entries, more than the ${maxLength} allowed`);
    return v;
  }

  int(v: unknown, field: string, min: number, max: number): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) this.fail(field, `must be an integer in ${min}..${max}, got ${show(v)}`);
    return v;
  }

  /** A finite number in [min, max]; `positive` excludes 0. */
  number(v: unknown, field: string, min: number, max: number, positive = false): number {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (positive && v <= 0)) {
      this.fail(field, `must be a ${positive ? 'positive' : 'finite'} number in ${min}..${max}, got ${show(v)}`);
    }
    return v;
  }

  string(v: unknown, field: string, maxLength = 4096): string {
    if (typeof v !== 'string') this.fail(field, `must be a string, got ${show(v)}`);
    if (v.length > maxLength) this.fail(field, `is ${v.length} characters long, more than ${maxLength}`);
    return v;
  }

  oneOf<T extends string>(v: unknown, field: string, allowed: readonly T[]): T {
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) this.fail(field, `must be one of ${allowed.join(', ')}, got ${show(v)}`);
    return v as T;
  }

  boolean(v: unknown, field: string): boolean {
    if (typeof v !== 'boolean') this.fail(field, `must be true or false, got ${show(v)}`);
    return v;
  }
}
