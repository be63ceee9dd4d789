// The `rddm` dispatcher, apart from main.ts so tests can run whole command lines in-process and check exit codes.
import { UsageError, type Command } from './command.js';
import { commands } from './registry.js';

function printHelp(to: (line: string) => void): void {
  to('usage: rddm COMMAND [options]   (rddm COMMAND --help for its options)\n\ncommands:');
  for (const c of commands) to(`  ${c.name.padEnd(14)} ${c.summary}`);
  to('\nexit codes: 0 success, 1 runtime failure (missing or unreadable file, bad input data, GPU error), 2 usage error');
}

/** Runs one command line (without `rddm`) and returns its exit code: 0 success, 1 runtime failure, 2 usage error. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    printHelp(name ? console.log : console.error);
    return name ? 0 : 2;
  }
  const cmd: Command | undefined = commands.find((c) => c.name === name);
  if (!cmd) {
    console.error(`rddm: unknown command '${name}'`);
    printHelp(console.error);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(cmd.usage);
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`rddm ${name}: ${e.message}\n\n${cmd.usage}`);
      return 2;
    }
    console.error(`rddm ${name}: ${e instanceof Error ? e.message : String(e)}`);
    if (process.env.RDDM_DEBUG && e instanceof Error) console.error(e.stack);
    return 1;
  }
}
