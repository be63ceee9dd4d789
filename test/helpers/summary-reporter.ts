// Prints one plain closing line, "N passed, N failed, N skipped", that CI log readers understand.
import type { Reporter } from 'vitest/reporters';

interface TaskLike {
  type?: string;
  mode?: string;
  result?: { state?: string };
  tasks?: TaskLike[];
}

function count(tasks: readonly TaskLike[], acc = { passed: 0, failed: 0, skipped: 0 }) {
  for (const t of tasks) {
    if (t.tasks) count(t.tasks, acc);
    if (t.type !== 'test') continue;
    const state = t.result?.state;
    if (state === 'pass') acc.passed++;
    else if (state === 'fail') acc.failed++;
    else acc.skipped++;
  }
  return acc;
}

export default class SummaryReporter implements Reporter {
  onFinished(files?: readonly TaskLike[]): void {
    const c = count(files ?? []);
    console.log(`\n${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`);
  }
}
