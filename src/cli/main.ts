import { UsageError, type Command } from './command.js';
import { commands } from './registry.js';

function printHelp(): void {
  console.log('usage: rddm COMMAND [options]\n\ncommands:');
  for (const c of commands) console.log(`  ${c.name.padEnd(14)} ${c.summary}`);
  console.log('\nexit codes: 0 success, 1 runtime failure, 2 usage error');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    printHelp();
    return name ? 0 : 2;
  }
  const cmd: Command | undefined = commands.find((c) => c.name === name);
  if (!cmd) {
    console.error(`rddm: unknown command '${name}'`);
    printHelp();
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

process.exitCode = await main(process.argv.slice(2));
