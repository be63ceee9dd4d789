import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { noPositionals, parseArgs, type Command } from '../command.js';
import { runDoctor } from '../../node/doctor.js';

/** The package root (where node_modules/webgpu is), found from this file's location or the working directory. */
function packageRoot(): string {
  let dir = resolve(fileURLToPath(import.meta.url), '..');
  for (let i = 0; i < 6; i++) {
    if (existsSync(resolve(dir, 'node_modules/webgpu'))) return dir;
    dir = resolve(dir, '..');
  }
  return process.cwd();
}

export const doctor: Command = {
  name: 'doctor',
  summary: 'check the WebGPU adapter; install a Vulkan driver where missing (Debian/Ubuntu as root)',
  usage: 'usage: rddm doctor [--quiet] [--no-install] [--json]',
  async run(args) {
    const { flags, positionals } = parseArgs(args, { boolean: ['quiet', 'no-install', 'json'] });
    noPositionals(positionals);
    const probe = runDoctor({ cwd: packageRoot(), quiet: Boolean(flags.quiet), install: !flags['no-install'], log: flags.json ? () => {} : undefined });
    if (flags.json) console.log(JSON.stringify(probe, null, 2));
    return probe.ok ? 0 : 1;
  },
};
