import type { Command } from './command.js';
import { doctor } from './commands/doctor.js';

/** Every sub-command, in the order `rddm --help` lists them. Each lives in src/cli/commands/NAME.ts. */
export const commands: Command[] = [doctor];
