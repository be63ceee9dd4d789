// A thread that kills this process when one fuzz case runs too long: a parser stuck in a synchronous loop cannot
// be interrupted from its own thread, so without this a hang would stall the test run instead of failing it.
// No vitest import: test/io/fuzz-harness.test.ts runs it in a child process to check that it fires.

import { Worker } from 'node:worker_threads';

const WATCHDOG_SOURCE = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const { state, text, limitMs } = workerData;
let seen = -1, since = Date.now();
setInterval(() => {
  const seq = Atomics.load(state, 0);
  if (seq !== seen || Atomics.load(state, 1) === 0) { seen = seq; since = Date.now(); return; }
  if (Date.now() - since < limitMs) return;
  const len = Atomics.load(state, 2);
  const label = Buffer.from(text.buffer, 0, len).toString('utf8');
  writeSync(2, '\\n[fuzz] HANG: ' + label + ' ran for more than ' + limitMs + ' ms; killing the test process\\n');
  process.kill(process.pid, 'SIGKILL');
}, 25);
`;

/** A thread that kills this process when one case runs longer than `limitMs` (a synchronous loop cannot be interrupted otherwise). */
export class Watchdog {
  private readonly state = new Int32Array(new SharedArrayBuffer(12));
  private readonly text = new Uint8Array(new SharedArrayBuffer(512));
  private readonly worker: Worker;
  private seq = 0;

  constructor(limitMs: number) {
    this.worker = new Worker(WATCHDOG_SOURCE, { eval: true, workerData: { state: this.state, text: this.text, limitMs } });
    this.worker.unref();
  }
  enter(label: string): void {
    const bytes = new TextEncoder().encode(label).subarray(0, this.text.length);
    this.text.set(bytes);
    Atomics.store(this.state, 2, bytes.length);
    Atomics.store(this.state, 0, ++this.seq);
    Atomics.store(this.state, 1, 1);
  }
  leave(): void {
    Atomics.store(this.state, 1, 0);
  }
  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}

