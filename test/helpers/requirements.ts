// What the tests need besides the repository: reference tools (dcraw, raw-identify, cjpeg/djpeg, Chromium) and
// data fetched from Debian's archive (the real CR2, the test photos). `npm test`'s preflight (test/preflight.ts)
// installs and fetches them; a test that needs one that is still missing fails with the fix, never skips.
// No vitest import here: the preflight script imports this file too.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
/** What the preflight found missing and why (its own words, e.g. a fetch script's error), for the tests' messages. */
export const STATUS_FILE = resolve(ROOT, '.cache/test-preflight.json');

export interface Tool {
  /** The command (or, for Chromium, the binary's path) whose presence is checked. */
  name: string;
  /** The Debian package that provides it. */
  apt: string;
  /** Which tests use it, for the preflight's report. */
  usedBy: string;
}

export const CHROMIUM = '/usr/bin/chromium';

export const TOOLS: readonly Tool[] = [
  { name: 'dcraw', apt: 'dcraw', usedBy: 'the CR2/DNG comparisons with dcraw, the CR2 restore, the auto-exposure check (test/raw, test/rddm)' },
  { name: 'raw-identify', apt: 'libraw-bin', usedBy: 'the CR2/DNG metadata comparisons with LibRaw (test/raw)' },
  { name: 'cjpeg', apt: 'libjpeg-turbo-progs', usedBy: 'the JPEG reader tests (test/io/jpeg, test/io/image-fuzz)' },
  { name: 'djpeg', apt: 'libjpeg-turbo-progs', usedBy: 'the JPEG reader tests (test/io/jpeg)' },
  { name: 'bzip2', apt: 'bzip2', usedBy: 'scripts/fetch-photos.sh (SciPy\'s face photo)' },
  { name: CHROMIUM, apt: 'chromium', usedBy: 'the browser tests (test/browser)' },
];

/** Data that fetch scripts bring from Debian's archive (as any user: apt-get download + dpkg -x). */
export interface DataSet {
  name: string;
  /** Path prefix, relative to the repository root, of the files this set covers. */
  prefix: string;
  /** The command that fetches it, run from the repository root (idempotent: it skips what is there). */
  fetch: readonly string[];
}

export const DATA: readonly DataSet[] = [
  { name: 'RAW test files', prefix: 'data/test-raw/', fetch: ['sh', 'scripts/fetch-test-raw.sh'] },
  { name: 'test photos', prefix: 'data/photos/', fetch: ['bash', 'scripts/fetch-photos.sh'] },
];

/**
 * RDDM_PREFLIGHT_PRETEND_MISSING=dcraw,/usr/bin/chromium,data/photos/ makes the preflight and the tests treat those
 * tools or data (a tool's name, or a data path prefix) as absent: how the "missing" paths are exercised on a machine
 * that has everything.
 */
function pretendMissing(name: string): boolean {
  const list = (process.env.RDDM_PREFLIGHT_PRETEND_MISSING ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return list.some((p) => name === p || (p.endsWith('/') && name.startsWith(p)));
}

export function toolPresent(name: string): boolean {
  if (pretendMissing(name)) return false;
  if (name.startsWith('/')) return existsSync(name);
  return spawnSync('sh', ['-c', 'command -v "$0"', name], { encoding: 'utf8' }).status === 0;
}

export function dataPresent(path: string): boolean {
  return !pretendMissing(path) && existsSync(resolve(ROOT, path));
}

/** The exact commands that would provide what is missing, as a person would type them. */
export function installCommand(packages: readonly string[]): string {
  return `apt-get update && apt-get install -y --no-install-recommends ${[...new Set(packages)].join(' ')}`;
}

function preflightReason(key: string): string | null {
  try {
    const s = JSON.parse(readFileSync(STATUS_FILE, 'utf8')) as { missing?: Record<string, string> };
    return s.missing?.[key] ?? null;
  } catch {
    return null;
  }
}

/** Why `need` (a tool name from TOOLS, or a path under data/) is missing and how to get it; null when present. */
export function missingMessage(need: string): string | null {
  const tool = TOOLS.find((t) => t.name === need);
  if (tool) {
    if (toolPresent(tool.name)) return null;
    const why = preflightReason(tool.name);
    return `${tool.name} is not installed: as root, run \`${installCommand([tool.apt])}\` (npm test's preflight does this itself when run as root with apt-get)${why ? `; the preflight said: ${why}` : ''}`;
  }
  const data = DATA.find((d) => need.startsWith(d.prefix));
  if (!data) throw new Error(`test requirement '${need}' is neither a known tool nor a path under ${DATA.map((d) => d.prefix).join(' or ')}`);
  if (dataPresent(need)) return null;
  const why = preflightReason(data.prefix);
  return `${need} is missing: run \`${data.fetch.join(' ')}\` (npm test's preflight runs it; it needs apt-get and Debian's archive)${why ? `; the preflight said: ${why}` : ''}`;
}

/** Throws, naming the fix, unless every requirement is present. */
export function need(...needs: string[]): void {
  const msgs = needs.map(missingMessage).filter((m): m is string => m !== null);
  if (msgs.length) throw new Error(`missing test requirement${msgs.length > 1 ? 's' : ''}: ${msgs.join('; ')}`);
}

/** The path of a required data file (relative to the repository root, resolved), or a thrown error naming the fix. */
export function needData(path: string): string {
  need(path);
  return resolve(ROOT, path);
}
