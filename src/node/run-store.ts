import { mkdirSync, existsSync, readFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-write.js';
import { openFileSource } from './file-source.js';
import { openSafetensors } from '../io/safetensors.js';
import { readCheckpoint, type LoadedCheckpoint, type RunState } from '../train/checkpoint.js';
import type { RunStore } from '../train/loop.js';
import { plotLossCurves } from '../train/loss-plot.js';

/**
 * A run directory: `checkpoint.safetensors` (latest, replaced atomically), `log.jsonl`, `loss.png`.
 * A kill at any moment leaves the previous complete checkpoint in place.
 */
export class DirRunStore implements RunStore {
  readonly checkpointPath: string;
  readonly logPath: string;
  readonly plotPath: string;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.checkpointPath = join(dir, 'checkpoint.safetensors');
    this.logPath = join(dir, 'log.jsonl');
    this.plotPath = join(dir, 'loss.png');
  }

  async loadCheckpoint(): Promise<LoadedCheckpoint | null> {
    if (!existsSync(this.checkpointPath)) return null;
    const src = await openFileSource(this.checkpointPath);
    try {
      return await readCheckpoint(await openSafetensors(src));
    } finally {
      await src.close();
    }
  }

  async saveCheckpoint(chunks: Uint8Array[]): Promise<void> {
    await writeFileAtomic(this.checkpointPath, chunks);
  }

  async appendLog(record: Record<string, unknown>): Promise<void> {
    appendFileSync(this.logPath, JSON.stringify(record) + '\n');
  }

  async truncateLog(step: number): Promise<void> {
    if (!existsSync(this.logPath)) return;
    const kept = readFileSync(this.logPath, 'utf8')
      .split('\n')
      .filter((l) => {
        if (!l.trim()) return false;
        try {
          return (JSON.parse(l) as { step?: number }).step! <= step;
        } catch {
          return false; // a line cut by a kill mid-write
        }
      });
    await writeFileAtomic(this.logPath, kept.map((l) => l + '\n').join(''));
  }

  async savePlot(history: RunState['history']): Promise<void> {
    if (!history?.length) return;
    const keys = Object.keys(history[0]).filter((k) => k !== 'step' && k !== 'lr');
    const colors: [number, number, number][] = [[31, 119, 180], [214, 39, 40], [44, 160, 44], [148, 103, 189], [255, 127, 14]];
    const png = await plotLossCurves(keys.map((k, i) => ({ name: k, color: colors[i % colors.length], points: history.map((h) => ({ x: h.step, y: h[k] })) })));
    await writeFileAtomic(this.plotPath, png);
  }
}
