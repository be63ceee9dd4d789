import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The machine's own apt sources, read so that a backports entry can reuse the Debian archive the machine is
 * already configured for (its mirror, snapshot or proxy, and its keyring) instead of a host written in our code.
 * Both formats apt reads: deb822 stanzas (`*.sources`) and one-line entries (`sources.list`, `*.list`).
 */
export interface AptSource {
  types: string[];
  uris: string[];
  suites: string[];
  components: string[];
  /** The Signed-By value (a keyring path or an inline key), when the entry names one. */
  signedBy?: string;
  enabled: boolean;
  /** Where the entry came from, for messages. */
  file: string;
}

/** deb822 stanzas (blank-line separated `Field: value` blocks; `#` lines are comments; continuation lines start with a space). */
export function parseDeb822Sources(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  for (const block of text.split(/\n[ \t]*\n/)) {
    const fields: Record<string, string> = {};
    let last: string | null = null;
    for (const line of block.split('\n')) {
      if (/^\s*#/.test(line) || !line.trim()) continue;
      if (/^[ \t]/.test(line) && last) {
        fields[last] += '\n' + line.trim();
        continue;
      }
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
      if (!m) continue;
      last = m[1].toLowerCase();
      fields[last] = m[2].trim();
    }
    if (!fields.types || !fields.uris) continue;
    const words = (s: string | undefined) => (s ?? '').split(/\s+/).filter(Boolean);
    out.push({
      types: words(fields.types),
      uris: words(fields.uris),
      suites: words(fields.suites),
      components: words(fields.components),
      signedBy: fields['signed-by'] || undefined,
      enabled: !/^(no|false|0)$/i.test(fields.enabled ?? 'yes'),
      file,
    });
  }
  return out;
}

/** One-line entries: `deb [opt=value ...] URI SUITE COMPONENT...`; commented lines are not entries. */
export function parseOneLineSources(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const m = /^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)(.*)$/.exec(line);
    if (!m) continue;
    const opts = Object.fromEntries(
      (m[2] ?? '')
        .split(/\s+/)
        .filter(Boolean)
        .map((o) => {
          const i = o.indexOf('=');
          return i < 0 ? [o.toLowerCase(), ''] : [o.slice(0, i).toLowerCase(), o.slice(i + 1)];
        }),
    );
    out.push({ types: [m[1]], uris: [m[3]], suites: [m[4]], components: m[5].split(/\s+/).filter(Boolean), signedBy: opts['signed-by'] || undefined, enabled: true, file });
  }
  return out;
}

/** Every entry under an apt configuration folder (default /etc/apt), in the order apt reads them. */
export function readAptSources(aptDir = '/etc/apt'): AptSource[] {
  const out: AptSource[] = [];
  const list = join(aptDir, 'sources.list');
  if (existsSync(list)) out.push(...parseOneLineSources(readFileSync(list, 'utf8'), list));
  const dir = join(aptDir, 'sources.list.d');
  if (existsSync(dir)) {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (name.endsWith('.list')) out.push(...parseOneLineSources(readFileSync(path, 'utf8'), path));
      else if (name.endsWith('.sources')) out.push(...parseDeb822Sources(readFileSync(path, 'utf8'), path));
    }
  }
  return out;
}

export type BackportsPlan =
  /** Some enabled entry already offers the suite: nothing to write. */
  | { kind: 'present'; suite: string; file: string }
  /** A deb822 stanza to write, with the archive URI (and keyring) of the release's own entry. */
  | { kind: 'add'; suite: string; uri: string; text: string; from: string }
  /** No enabled binary entry for the release's main component: the reason, for the manual instructions. */
  | { kind: 'unknown'; suite: string; reason: string };

/**
 * Where `CODENAME-backports` comes from on this machine: the URI of the first enabled `deb` entry whose suites
 * include CODENAME itself with the `main` component (the release's archive, not its security archive, which
 * has no backports), written as a deb822 stanza with that entry's Signed-By.
 */
export function planBackports(sources: readonly AptSource[], codename: string): BackportsPlan {
  const suite = `${codename}-backports`;
  const has = sources.find((s) => s.enabled && s.types.includes('deb') && s.suites.includes(suite));
  if (has) return { kind: 'present', suite, file: has.file };
  const base = sources.find((s) => s.enabled && s.types.includes('deb') && s.suites.includes(codename) && s.components.includes('main') && s.uris.length);
  if (!base) return { kind: 'unknown', suite, reason: `no enabled 'deb' entry for suite ${codename} with component main in the apt sources` };
  const uri = base.uris[0];
  const lines = ['Types: deb', `URIs: ${uri}`, `Suites: ${suite}`, 'Components: main'];
  // A multi-line inline key keeps its continuation lines indented, as deb822 requires.
  if (base.signedBy) lines.push(`Signed-By: ${base.signedBy.split('\n').join('\n ')}`);
  return { kind: 'add', suite, uri, text: lines.join('\n') + '\n', from: base.file };
}

/** Where the doctor and .ci/run write the backports stanza. */
export const BACKPORTS_FILE = '/etc/apt/sources.list.d/rddm-backports.sources';
