/**
 * `npm run bench -- [family ...] [--json FILE] [--list] [--option value ...]`: runs benchmark families (all when
 * none is named), prints a table per family and, at the end, one summary of rddm's ratios against every peer
 * measured (bench/summary.ts); `--json` writes the report `{ adapter, cases, summary }`.
 * Options after the names go to every family (e.g. `--sizes 256,512` for matmul).
 */
import { init } from '../src/index.js';
import { describeEnvironment, formatTable, writeReport, type BenchCase, type BenchFamily } from './harness.js';
import { formatSummary, summaryRows, type SummaryRow } from './summary.js';

/** Add a family here: its name on the command line, and the module that default-exports its BenchFamily. */
const FAMILIES: Record<string, () => Promise<{ default: BenchFamily }>> = {
  matmul: () => import('./matmul.js'),
  conv2d: () => import('./conv2d.js'),
  groupnorm: () => import('./groupnorm.js'),
  attention: () => import('./attention.js'),
  elementwise: () => import('./elementwise.js'),
  adamw: () => import('./adamw.js'),
  e2e: () => import('./e2e.js'),
};

function parseArgs(argv: readonly string[]): { names: string[]; options: Record<string, string | true> } {
  const names: string[] = [];
  const options: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      names.push(arg);
      continue;
    }
    const [key, inline] = arg.slice(2).split('=', 2);
    const next = argv[i + 1];
    options[key] = inline ?? (next !== undefined && !next.startsWith('--') && !(next in FAMILIES) ? (i++, next) : true);
  }
  return { names, options };
}

async function main(): Promise<void> {
  const { names, options } = parseArgs(process.argv.slice(2));
  if (options.list) {
    for (const [name, load] of Object.entries(FAMILIES)) console.log(`${name.padEnd(12)} ${(await load()).default.description}`);
    return;
  }
  const unknown = names.filter((n) => !(n in FAMILIES));
  if (unknown.length) throw new Error(`bench: unknown famil${unknown.length > 1 ? 'ies' : 'y'} ${unknown.join(', ')}; known: ${Object.keys(FAMILIES).join(', ')}`);
  const selected = names.length ? names : Object.keys(FAMILIES);
  const dev = await init();
  const adapter = describeEnvironment(dev);
  console.log(`adapter: ${dev.adapter.description || dev.adapter.device} (${dev.adapter.vendor}, ${dev.adapter.architecture}); load average ${adapter.loadAverage}`);
  const log = (line: string) => console.error(line);
  const cases: BenchCase[] = [];
  const summary: SummaryRow[] = [];
  for (const name of selected) {
    const family = (await FAMILIES[name]()).default;
    console.log(`\n## ${name}: ${family.description}\n`);
    const got = await family.run({ dev, options, log });
    console.log(formatTable(got, family.columns ?? ['op', 'shape', 'impl', 'ms', 'gflops']));
    if (family.summary) console.log(`\n${family.summary(got)}`);
    cases.push(...got);
    summary.push(...summaryRows(name, got));
  }
  console.log(`\n## summary\n\n${formatSummary(summary)}`);
  if (typeof options.json === 'string') {
    writeReport(options.json, { adapter, cases, summary });
    console.log(`\nwrote ${options.json}`);
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
