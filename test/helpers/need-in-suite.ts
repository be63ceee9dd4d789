import { beforeEach } from 'vitest';
import { missingMessage, need } from './requirements.js';

/**
 * For a describe block whose every test needs these tools or data: each test fails with the fix when one is
 * missing (a failing beforeAll would only mark them skipped). Returns whether all are present, so the block's
 * beforeAll can leave out set-up work that would throw for want of them.
 */
export function needInSuite(...needs: string[]): boolean {
  beforeEach(() => need(...needs));
  return needs.every((n) => missingMessage(n) === null);
}
