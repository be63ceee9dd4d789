// `npm test`'s preflight, run after the GPU one (`rddm doctor`): installs the reference tools the tests compare
// against (as root with apt-get) and fetches the test data from Debian's archive (the fetch scripts, which skip what
// is already there). What it cannot provide it prints with the exact commands, records in .cache/test-preflight.json,
// and the tests that need it fail with that message. It exits 0 either way, so the rest of the suite still runs.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { DATA, ROOT, STATUS_FILE, TOOLS, toolPresent } from './helpers/requirements.js';
import { planTools } from './helpers/preflight-plan.js';

const verbose = process.argv.includes('--verbose');
const log = (s: string) => console.log(`test preflight: ${s}`);
const say = (s: string) => {
  if (verbose) log(s);
};
const missing: Record<string, string> = {};
const has = (cmd: string) => spawnSync('sh', ['-c', 'command -v "$0"', cmd]).status === 0;
const pretend = (process.env.RDDM_PREFLIGHT_PRETEND_MISSING ?? '').split(',').map((s) => s.trim()).filter(Boolean);

// 1. Tools (before the data: fetch-photos.sh needs bzip2).
let absent = TOOLS.filter((t) => !toolPresent(t.name));
const plan = planTools({
  missing: absent,
  isRoot: typeof process.getuid === 'function' && process.getuid() === 0,
  hasAptGet: has('apt-get'),
  noInstall: Boolean(process.env.RDDM_PREFLIGHT_NO_INSTALL),
  pretend,
});
let installError = '';
if (plan.kind === 'install') {
  log(`installing ${plan.packages.join(' ')} (reference tools for the tests) …`);
  for (const cmd of plan.commands) {
    const r = spawnSync(cmd[0], cmd.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (r.status !== 0) {
      installError = `\`${cmd.join(' ')}\` failed (exit ${r.status}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' ')}`;
      break;
    }
  }
  absent = TOOLS.filter((t) => !toolPresent(t.name));
}
for (const t of absent) {
  const why = plan.kind === 'manual' ? `${plan.why}; run ${plan.command}` : installError || `\`apt-get install ${t.apt}\` ran, yet ${t.name} is still not found (on PATH)`;
  missing[t.name] = why;
  log(`MISSING ${t.name} (Debian package ${t.apt}): ${why}. Tests that will fail: ${t.usedBy}.`);
}
if (!absent.length) say(`tools present: ${TOOLS.map((t) => t.name).join(', ')}`);

// 2. Data, through the fetch scripts (they do nothing when everything is there). --tools-only (.ci/run's sudo
// pass) leaves the data and the status file to the run as the user, so that they stay the user's files.
const toolsOnly = process.argv.includes('--tools-only');
for (const d of toolsOnly ? [] : DATA) {
  if (pretend.some((p) => p.startsWith(d.prefix) || d.prefix.startsWith(p))) {
    missing[d.prefix] = `RDDM_PREFLIGHT_PRETEND_MISSING names it; run \`${d.fetch.join(' ')}\``;
    log(`MISSING ${d.name} (${d.prefix}): ${missing[d.prefix]}`);
    continue;
  }
  const r = spawnSync(d.fetch[0], d.fetch.slice(1), { cwd: ROOT, encoding: 'utf8', timeout: 20 * 60_000 });
  if (r.status === 0) {
    say(`${d.name}: ${(r.stdout ?? '').trim().split('\n').pop()}`);
    continue;
  }
  const tail = `${r.stderr ?? ''}${r.error ? ` ${r.error.message}` : ''}`.trim().split('\n').slice(-3).join(' ');
  missing[d.prefix] = `\`${d.fetch.join(' ')}\` failed (exit ${r.status}): ${tail}${has('apt-get') ? '' : ' (it needs apt-get and dpkg: Debian or Ubuntu)'}`;
  log(`MISSING ${d.name} (${d.prefix}): ${missing[d.prefix]}. The tests that read them will fail.`);
}

if (toolsOnly) process.exit(0);
mkdirSync(dirname(STATUS_FILE), { recursive: true });
writeFileSync(STATUS_FILE, JSON.stringify({ written: new Date().toISOString(), missing }, null, 2) + '\n');
if (!Object.keys(missing).length) log(`reference tools (${TOOLS.map((t) => t.name.replace(/.*\//, '')).join(', ')}) and test data (${DATA.map((d) => d.prefix).join(', ')}) present`);
else log(`${Object.keys(missing).length} requirement(s) missing: the tests that need them will FAIL (not skip) with the commands above.`);
