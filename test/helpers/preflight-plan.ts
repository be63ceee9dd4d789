// What `npm test`'s preflight does about missing tools, decided from facts alone (no side effects), so that every
// branch is unit-tested: install them (root with apt-get, as `rddm doctor` does for the Vulkan driver), or print the
// exact commands and let the tests that need them fail with those commands.
import { installCommand, type Tool } from './requirements.js';

export interface PreflightFacts {
  /** Tools not found. */
  missing: readonly Tool[];
  isRoot: boolean;
  hasAptGet: boolean;
  /** RDDM_PREFLIGHT_NO_INSTALL=1: behave as if we could not install (print the commands). */
  noInstall: boolean;
  /** Tools that are only pretended missing (RDDM_PREFLIGHT_PRETEND_MISSING): never actually installed. */
  pretend: readonly string[];
}

export type ToolPlan =
  | { kind: 'nothing' }
  /** Commands to run, each argv; `packages` for the report. */
  | { kind: 'install'; commands: string[][]; packages: string[] }
  /** What a person has to run, and why we did not. */
  | { kind: 'manual'; command: string; why: string; packages: string[] };

export function planTools(f: PreflightFacts): ToolPlan {
  if (!f.missing.length) return { kind: 'nothing' };
  const packages = [...new Set(f.missing.map((t) => t.apt))];
  if (!f.hasAptGet) {
    return {
      kind: 'manual',
      packages,
      command: `install ${packages.join(', ')} (Debian package names) with this system's package manager`,
      why: 'no apt-get on this machine',
    };
  }
  const command = installCommand(packages);
  if (!f.isRoot) return { kind: 'manual', packages, command: `as root: ${command}`, why: 'not running as root' };
  if (f.noInstall) return { kind: 'manual', packages, command: `as root: ${command}`, why: 'RDDM_PREFLIGHT_NO_INSTALL is set' };
  if (f.missing.every((t) => f.pretend.includes(t.name))) {
    return { kind: 'manual', packages, command: `as root: ${command}`, why: 'RDDM_PREFLIGHT_PRETEND_MISSING: the install was not run' };
  }
  return {
    kind: 'install',
    packages,
    commands: [
      ['apt-get', 'update', '-q'],
      ['apt-get', 'install', '-y', '-q', '--no-install-recommends', ...packages],
    ],
  };
}
