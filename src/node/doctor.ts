import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { BACKPORTS_FILE, planBackports, readAptSources, type BackportsPlan } from './apt-sources.js';

/**
 * GPU preflight: finds a WebGPU adapter through Dawn; where there is none on Debian/Ubuntu as root, installs a
 * Vulkan driver (Mesa >= 24 lavapipe works on machines without a GPU) and tries again; elsewhere prints exactly
 * what to install. The probe runs in a child process because Dawn caches a failed Vulkan load per process.
 */
export interface ProbeResult {
  ok: boolean;
  error?: string;
  info?: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter: boolean };
  features?: string[];
  limits?: Record<string, number>;
}

const PROBE = `
import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);
const out = { ok: false };
try {
  const gpu = create([]);
  const a = await gpu.requestAdapter();
  if (!a) { out.error = 'requestAdapter() returned null'; }
  else {
    const i = a.info;
    out.ok = true;
    out.info = { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description, isFallbackAdapter: !!(i.isFallbackAdapter ?? a.isFallbackAdapter) };
    out.features = [...a.features].sort();
    const names = ['maxStorageBufferBindingSize','maxBufferSize','maxComputeWorkgroupStorageSize','maxComputeInvocationsPerWorkgroup','maxComputeWorkgroupSizeX','maxComputeWorkgroupsPerDimension','maxStorageBuffersPerShaderStage'];
    out.limits = Object.fromEntries(names.map((n) => [n, Number(a.limits[n])]));
  }
} catch (e) { out.error = String(e && e.message || e); }
process.stdout.write('@@PROBE' + JSON.stringify(out));
process.exit(0);
`;

export function probeAdapter(cwd: string): ProbeResult {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', PROBE], {
    cwd,
    env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  const m = /@@PROBE(.*)$/s.exec(r.stdout ?? '');
  if (!m) return { ok: false, error: `probe process failed (exit ${r.status}): ${(r.stderr ?? '').trim().slice(-500)}` };
  return JSON.parse(m[1]) as ProbeResult;
}

export function osRelease(): Record<string, string> {
  if (!existsSync('/etc/os-release')) return {};
  const out: Record<string, string> = {};
  for (const line of readFileSync('/etc/os-release', 'utf8').split('\n')) {
    const m = /^(\w+)=("?)(.*)\2$/.exec(line.trim());
    if (m) out[m[1]] = m[3];
  }
  return out;
}

/** Install commands for this OS, or null when we don't know how (then only instructions are printed). */
export function installPlan(): { commands: string[][]; describe: string } | null {
  if (process.platform !== 'linux') return null;
  const os = osRelease();
  const apt = (...args: string[]) => ['apt-get', ...args];
  if (os.ID === 'debian' && os.VERSION_CODENAME === 'bookworm') {
    return {
      describe: 'Debian bookworm: Mesa >= 24 (lavapipe) and the Vulkan loader from bookworm-backports',
      commands: [
        ['@backports'],
        apt('update', '-q'),
        apt('install', '-y', '-q', '--no-install-recommends', '-t', 'bookworm-backports', 'mesa-vulkan-drivers', 'libvulkan1'),
      ],
    };
  }
  if (os.ID === 'debian' || os.ID === 'ubuntu' || (os.ID_LIKE ?? '').includes('debian')) {
    return {
      describe: `${os.PRETTY_NAME ?? os.ID}: Mesa's Vulkan drivers (need Mesa >= 24) and the Vulkan loader`,
      commands: [apt('update', '-q'), apt('install', '-y', '-q', '--no-install-recommends', 'mesa-vulkan-drivers', 'libvulkan1')],
    };
  }
  return null;
}

/** The manual instructions, with the backports stanza this machine's own apt sources give (never a host of ours). */
export function manualInstructions(backports: BackportsPlan | null = bookwormBackports()): string {
  const bp =
    backports?.kind === 'add'
      ? `    printf '%s\\n' ${backports.text.trimEnd().split('\n').map((l) => `'${l.replace(/'/g, `'\\''`)}'`).join(' ')} > ${BACKPORTS_FILE}`
      : backports?.kind === 'present'
        ? `    (bookworm-backports is already configured in ${backports.file})`
        : `    add the suite bookworm-backports (component main) to your Debian source, with the same URI as its bookworm entry${backports ? ` (${backports.reason})` : ''}`;
  return `No WebGPU adapter was found. Install a Vulkan driver and loader:
  Debian 12 (bookworm), as root:
${bp}
    apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers libvulkan1
  Debian 13 / Ubuntu 24.04+:  apt-get install -y mesa-vulkan-drivers libvulkan1
  Fedora:  dnf install mesa-vulkan-drivers vulkan-loader
  Other systems: a GPU driver with Vulkan (Linux), Metal (macOS) or D3D12 (Windows) support.
(Mesa older than 24, e.g. Debian bookworm's default 22.3, is rejected by Dawn.)`;
}

/** The bookworm-backports plan from /etc/apt, or null off bookworm (where no backports are needed). */
function bookwormBackports(): BackportsPlan | null {
  return osRelease().VERSION_CODENAME === 'bookworm' ? planBackports(readAptSources(), 'bookworm') : null;
}

/**
 * Adds the release's backports suite from the machine's own Debian source (same URI and keyring), unless some
 * entry already has it. Returns an error message, or null when the suite is now configured.
 */
export function ensureBackports(codename: string, write: (path: string, text: string) => void = (p, t) => writeFileSync(p, t)): string | null {
  const plan = planBackports(readAptSources(), codename);
  if (plan.kind === 'present') return null;
  if (plan.kind === 'unknown') return `cannot add ${plan.suite}: ${plan.reason}`;
  write(BACKPORTS_FILE, plan.text);
  return null;
}

export function runDoctor(opts: { cwd: string; quiet?: boolean; install?: boolean; log?: (s: string) => void }): ProbeResult {
  const log = opts.log ?? ((s: string) => console.log(s));
  let probe = probeAdapter(opts.cwd);
  if (!probe.ok) {
    const plan = installPlan();
    const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    if (plan && isRoot && opts.install !== false) {
      log(`rddm doctor: no WebGPU adapter (${probe.error}); installing ${plan.describe} …`);
      for (const cmd of plan.commands) {
        if (cmd[0] === '@backports') {
          const err = ensureBackports('bookworm');
          if (err) {
            log(`rddm doctor: ${err}.\n${manualInstructions()}`);
            return probe;
          }
          continue;
        }
        const r = spawnSync(cmd[0], cmd.slice(1), { stdio: opts.quiet ? 'ignore' : 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
        if (r.status !== 0) {
          log(`rddm doctor: '${cmd.join(' ')}' failed (exit ${r.status}).\n${manualInstructions()}`);
          return probe;
        }
      }
      probe = probeAdapter(opts.cwd);
    }
    if (!probe.ok) {
      log(`rddm doctor: ${probe.error ?? 'no adapter'}\n${manualInstructions()}`);
      return probe;
    }
  }
  const i = probe.info!;
  if (opts.quiet) {
    log(`rddm doctor: WebGPU adapter ${i.description || i.device || i.vendor} (${i.architecture}${i.isFallbackAdapter ? ', fallback' : ''})`);
  } else {
    log('WebGPU adapter');
    log(`  description   ${i.description}`);
    log(`  vendor        ${i.vendor}`);
    log(`  architecture  ${i.architecture}`);
    log(`  device        ${i.device}`);
    log(`  fallback      ${i.isFallbackAdapter}`);
    const used = ['shader-f16', 'subgroups', 'timestamp-query'];
    log(`features used   ${used.map((f) => `${f}: ${probe.features!.includes(f) ? 'yes' : 'no'}`).join(', ')}`);
    log(`all features    ${probe.features!.join(', ')}`);
    log('limits');
    for (const [k, v] of Object.entries(probe.limits!)) log(`  ${k.padEnd(36)} ${v}`);
  }
  return probe;
}
