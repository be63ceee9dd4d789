import { memorySource, openSafetensors, concatBytes } from '../io/safetensors.js';
import { readCheckpoint, type LoadedCheckpoint } from './checkpoint.js';
import type { RunStore } from './loop.js';

/** A run store in memory (browser training, tests). */
export class MemoryRunStore implements RunStore {
  checkpoint: Uint8Array | null = null;
  log: Record<string, unknown>[] = [];
  saves = 0;

  async loadCheckpoint(): Promise<LoadedCheckpoint | null> {
    if (!this.checkpoint) return null;
    return readCheckpoint(await openSafetensors(memorySource(this.checkpoint, 'memory-checkpoint')));
  }
  async saveCheckpoint(chunks: Uint8Array[]): Promise<void> {
    this.checkpoint = concatBytes(chunks);
    this.saves++;
  }
  async appendLog(record: Record<string, unknown>): Promise<void> {
    this.log.push(record);
  }
  async truncateLog(step: number): Promise<void> {
    this.log = this.log.filter((r) => (r.step as number) <= step);
  }
}
