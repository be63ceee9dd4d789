import type { Command } from './command.js';
import { doctor } from './commands/doctor.js';
import { info } from './commands/info.js';
import { decode } from './commands/decode.js';
import { profile } from './commands/profile.js';

/** Every sub-command, in the order `rddm --help` lists them. Each lives in src/cli/commands/NAME.ts. */
export const commands: Command[] = [doctor, info, decode, profile];
