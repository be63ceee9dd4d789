// The page's elements and the small routines that write to them; main.ts decides what to show.
import type { AdapterReport } from './gpu-support.js';

export const el = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (!e) throw new Error(`index.html has no #${id}`);
  return e as T;
};
export const ui = {
  gpuSummary: el('gpu-summary'),
  gpuDetails: el<HTMLDListElement>('gpu-details'),
  dropZone: el('drop-zone'),
  fileInput: el<HTMLInputElement>('file-input'),
  sampleButton: el<HTMLButtonElement>('sample-button'),
  fileInfo: el('file-info'),
  bin: el<HTMLSelectElement>('bin-select'),
  exposure: el<HTMLSelectElement>('exposure-select'),
  exposureNote: el('exposure-note'),
  status: el('status'),
  error: el('error'),
  progress: el<HTMLProgressElement>('progress'),
  progressLabel: el('progress-label'),
  restore: el<HTMLButtonElement>('restore-button'),
  download: el<HTMLButtonElement>('download-button'),
  splitLabel: el('split-label'),
  afterTag: el('after-tag'),
  timings: el<HTMLTableElement>('timings'),
  trainSteps: el<HTMLInputElement>('train-steps'),
  trainCrop: el<HTMLInputElement>('train-crop'),
  trainBatch: el<HTMLInputElement>('train-batch'),
  trainLr: el<HTMLInputElement>('train-lr'),
  trainButton: el<HTMLButtonElement>('train-button'),
  trainStop: el<HTMLButtonElement>('train-stop'),
  trainSource: el('train-source'),
  lossPlot: el<HTMLCanvasElement>('loss-plot'),
  trainStatus: el('train-status'),
};

/** data-seq counts updates, so a watcher (a test, a screen reader script) can tell a new "error" from the last one. */
export function setStatus(text: string, phase: string, target: HTMLElement = ui.status): void {
  target.textContent = text;
  target.dataset.phase = phase;
  target.dataset.seq = String(Number(target.dataset.seq ?? 0) + 1);
}

export function setProgress(fraction: number | null, label = ''): void {
  if (fraction === null) ui.progress.removeAttribute('value');
  else ui.progress.value = fraction;
  ui.progressLabel.textContent = label;
}

export function showTimings(rows: { stage: string; ms: number }[]): void {
  const body = ui.timings.tBodies[0];
  body.replaceChildren(
    ...rows.map((r) => {
      const tr = document.createElement('tr');
      const a = document.createElement('td'), b = document.createElement('td');
      a.textContent = r.stage;
      b.textContent = r.ms.toFixed(1);
      tr.append(a, b);
      return tr;
    }),
  );
  ui.timings.hidden = rows.length === 0;
}

export function showAdapter(r: AdapterReport): void {
  ui.gpuSummary.textContent = `WebGPU adapter: ${[r.vendor, r.architecture].filter(Boolean).join(' / ') || 'unnamed'}${r.fallback ? ' (a software fallback adapter: expect minutes, not seconds)' : ''}`;
  const rows: [string, string][] = [
    ['vendor', r.vendor || '—'],
    ['architecture', r.architecture || '—'],
    ['description', r.description || '—'],
    ['device', r.device || '—'],
    ['features', r.features.join(', ') || 'none'],
    ...Object.entries(r.limits).map(([k, v]): [string, string] => [k, v >= 2 ** 20 ? `${(v / 2 ** 20).toFixed(0)} MiB` : String(v)]),
  ];
  ui.gpuDetails.replaceChildren(
    ...rows.flatMap(([k, v]) => {
      const dt = document.createElement('dt'), dd = document.createElement('dd');
      dt.textContent = k;
      dd.textContent = v;
      return [dt, dd];
    }),
  );
  ui.gpuDetails.hidden = false;
}
