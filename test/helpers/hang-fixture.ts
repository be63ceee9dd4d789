// Run by test/io/fuzz-harness.test.ts in a child process: a "parser" that never returns, under the watchdog.
import { Watchdog } from './watchdog.js';

const dog = new Watchdog(Number(process.argv[2] ?? 300));
dog.enter('hang fixture case 7');
for (;;) {
  // spin
}
