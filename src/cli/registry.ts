import type { Command } from './command.js';
import { doctor } from './commands/doctor.js';
import { info } from './commands/info.js';
import { decode } from './commands/decode.js';
import { model } from './commands/model.js';
import { profile } from './commands/profile.js';
import { synth } from './commands/synth.js';
import { trainRvae, trainDiffusion } from './commands/train.js';
import { restore } from './commands/restore.js';
import { demo } from './commands/demo.js';
import { evalCommand } from './commands/eval.js';
import { exportCommand, importCommand } from './commands/convert.js';

/** Every sub-command, in the order `rddm --help` lists them. Each lives in src/cli/commands/NAME.ts. */
export const commands: Command[] = [doctor, info, decode, synth, model, trainRvae, trainDiffusion, restore, evalCommand, exportCommand, importCommand, demo, profile];
