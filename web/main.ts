// The web demo page: open a RAW file (picker or drop; it is read locally and never sent anywhere), preview it,
// restore it with the shipped weights on WebGPU, compare, download; and train the tiny RVAE in the page.
import type { GpuDevice } from '../src/index.js';
import type { RawImage } from '../src/raw/raw-image.js';
import { encodePng } from '../src/io/png.js';
import { probeWebGpu, gpuDevice } from './gpu-support.js';
import { el, setProgress, setStatus, showAdapter, showTimings, ui } from './page-ui.js';
import { loadWeightsFromServer, type LoadedWeights } from './weights-loader.js';
import { cropRgb8, decodeRaw, previewRaw, renderLinear, restoreToSrgb, toImageData, type Rgb8 } from './raw-pipeline.js';
import { describeGain, exposureGain, parseExposure } from '../src/rddm/exposure.js';
import { CompareView } from './compare-view.js';
import { describeProblem, type Problem } from './errors.js';
import { drawLossPlot, type LossPoint } from './loss-plot.js';
import { photoFromPreview, syntheticPhoto, trainRvae1InPage } from './train-in-page.js';

const WEIGHTS = '/weights/rddm-tiny';
const SAMPLE = '/samples/astronaut-256.dng';

const compare = new CompareView(el('compare'), el<HTMLCanvasElement>('before-canvas'), el<HTMLCanvasElement>('after-canvas'), el('compare-handle'), el<HTMLInputElement>('split'));

interface Opened {
  name: string;
  bytes: Uint8Array;
  raw: RawImage;
  decodeMs: number;
  preview: Rgb8 | null;
  /** The preview's linear camera RGB, to render again when the exposure changes. */
  previewLinear: Float32Array | null;
  previewMs: number;
  /** The exposure gain of the preview and the restored picture (the Exposure menu, applied to this RAW). */
  gain: number;
}

const state = {
  webgpu: false,
  gpuProblem: null as Problem | null,
  busy: false,
  opened: null as Opened | null,
  result: null as { png: Uint8Array; name: string; image: Rgb8; linear: Float32Array } | null,
  weights: null as { device: GpuDevice; loaded: LoadedWeights } | null,
  stopTraining: false,
};

function setBusy(busy: boolean): void {
  state.busy = busy;
  document.body.dataset.busy = String(busy);
  ui.fileInput.disabled = busy;
  ui.sampleButton.disabled = busy;
  ui.bin.disabled = busy;
  ui.exposure.disabled = busy;
  ui.restore.disabled = busy || !state.webgpu || !state.opened || !!state.opened.raw.sensor;
  ui.download.disabled = busy || !state.result;
  ui.trainButton.disabled = busy || !state.webgpu;
}

function showMessage(p: Problem | null): void {
  ui.error.hidden = p === null;
  ui.error.textContent = p?.message ?? '';
  if (p) ui.error.dataset.kind = p.kind;
  else delete ui.error.dataset.kind;
}

function showProblem(p: Problem): void {
  showMessage(p);
  setStatus(p.kind === 'no-webgpu' || p.kind === 'no-adapter' ? 'WebGPU is needed for the preview, restoration and training.' : 'Stopped: see the message below.', 'error');
}

/** Clears the last problem's message, except a missing WebGPU, which stays true for the page's life. */
function clearProblem(): void {
  showMessage(state.gpuProblem);
}

/** Runs `work` with the page locked; any failure becomes a specific message and the page stays usable. */
async function guarded(doing: string, work: () => Promise<void>): Promise<void> {
  setBusy(true);
  try {
    await work();
  } catch (e) {
    const p = await describeProblem(e, doing);
    if (p.kind === 'device-lost') state.weights = null;
    console.error(e);
    setProgress(0, '');
    showProblem(p);
  } finally {
    setBusy(false);
  }
}

async function makePreview(o: Opened): Promise<void> {
  setStatus(`Preview of ${o.name}: bilinear demosaic + tone processing on the GPU…`, 'previewing');
  const t0 = performance.now();
  await gpuDevice();
  const p = await previewRaw(o.raw, o.gain);
  o.preview = p.image;
  o.previewLinear = p.linear;
  o.previewMs = performance.now() - t0;
}

/** The Exposure menu's gain for this RAW, shown beside the menu (the page's data-gain is what tests read). */
function gainFor(raw: RawImage): number {
  const gain = exposureGain(parseExposure(ui.exposure.value), raw);
  ui.exposureNote.textContent = describeGain(gain);
  ui.exposureNote.dataset.gain = String(gain);
  return gain;
}

/** Renders the preview, and the restored picture if there is one, again at the Exposure menu's gain. */
async function changeExposure(): Promise<void> {
  const o = state.opened;
  if (!o || !state.webgpu) return;
  clearProblem();
  await guarded('rendering at the new exposure', async () => {
    o.gain = gainFor(o.raw);
    if (!o.previewLinear) return;
    o.preview = await renderLinear(o.previewLinear, o.raw.width, o.raw.height, o.raw, o.gain);
    const r = state.result;
    if (r) {
      r.image = await renderLinear(r.linear, r.image.width, r.image.height, o.raw, o.gain);
      r.png = await encodePng({ width: r.image.width, height: r.image.height, channels: 3, bitDepth: 8, data: r.image.data });
      compare.show(toImageData(cropRgb8(o.preview, r.image.width, r.image.height)), toImageData(r.image));
      setStatus(`${o.name} rendered at exposure ${ui.exposure.value}: ${describeGain(o.gain)}.`, 'restored');
    } else {
      compare.show(toImageData(o.preview), null);
      setStatus(`${o.name} previewed at exposure ${ui.exposure.value}: ${describeGain(o.gain)}. Press Restore.`, 'ready');
    }
  });
}

async function openBytes(name: string, bytes: Uint8Array): Promise<void> {
  state.opened = null;
  state.result = null;
  compare.hide();
  ui.splitLabel.hidden = true;
  showTimings([]);
  ui.fileInfo.textContent = '';
  ui.trainSource.textContent = 'a synthetic test pattern';
  clearProblem();
  await guarded(`reading ${name}`, async () => {
    setStatus(`Reading ${name}…`, 'decoding');
    const t0 = performance.now();
    const raw = await decodeRaw(bytes, name, Number(ui.bin.value));
    const o: Opened = { name, bytes, raw, decodeMs: performance.now() - t0, preview: null, previewLinear: null, previewMs: 0, gain: gainFor(raw) };
    state.opened = o;
    const binned = ui.bin.value === '1' ? '' : ` (binned ${ui.bin.value}×${ui.bin.value})`;
    const via = raw.reader === 'libraw' ? ' (read by LibRaw)' : '';
    ui.fileInfo.textContent = `${name}: ${raw.format.toUpperCase()}${via} from ${raw.make} ${raw.model}, ${raw.width}×${raw.height}${raw.sensor ? '' : binned}, ${raw.sensor ?? raw.cfaPattern}, ${raw.bitDepth}-bit, as-shot WB [${raw.asShotWB.map((v) => v.toFixed(3)).join(', ')}]${raw.warnings.length ? ` — ${raw.warnings.join('; ')}` : ''}`;
  });
  const o = state.opened as Opened | null;
  if (!o) return;
  if (o.raw.sensor) {
    // Preview (bilinear demosaic) and restoration are for 2x2 Bayer mosaics.
    setStatus(`${name} decoded (${o.raw.width}×${o.raw.height}): its ${o.raw.sensor} sensor is not a 2×2 Bayer mosaic, which the preview and restoration need.`, 'error');
    return;
  }
  if (!state.webgpu) {
    setStatus(`${name} decoded (${o.raw.width}×${o.raw.height}); the preview and restoration need WebGPU.`, 'error');
    return;
  }
  await guarded(`previewing ${name}`, async () => {
    await makePreview(o);
    compare.show(toImageData(o.preview!), null);
    ui.afterTag.hidden = true;
    showTimings([
      { stage: 'decode RAW', ms: o.decodeMs },
      { stage: 'preview (bilinear + PTP)', ms: o.previewMs },
    ]);
    ui.trainSource.textContent = `the preview of ${name}`;
    setStatus(`${name} is open. Press Restore.`, 'ready');
  });
}

async function openFile(file: File): Promise<void> {
  if (state.busy) {
    setStatus('Busy: wait for the current run to finish, then open the file again.', ui.status.dataset.phase ?? 'busy');
    return;
  }
  const name = file.name || 'unnamed file';
  let bytes: Uint8Array;
  try {
    // Read here, in the page: the bytes go to our decoder and nowhere else.
    bytes = new Uint8Array(await file.arrayBuffer());
  } catch (e) {
    showProblem({ kind: 'failed', message: `Could not read ${name} from disk: ${e instanceof Error ? e.message : String(e)}` });
    return;
  }
  await openBytes(name, bytes);
}

async function restore(): Promise<void> {
  const o = state.opened;
  if (!o) return;
  clearProblem();
  state.result = null;
  await guarded(`restoring ${o.name}`, async () => {
    const t0 = performance.now();
    const device = await gpuDevice();
    let weightsMs = 0;
    if (!state.weights || state.weights.device !== device) {
      state.weights = null;
      setStatus('Fetching the weights (sha256-checked against the manifest)…', 'loading-weights');
      const tw = performance.now();
      const loaded = await loadWeightsFromServer(WEIGHTS, (n, total, file) => setProgress(n / total, `${file}: ${(n / 2 ** 20).toFixed(1)} / ${(total / 2 ** 20).toFixed(1)} MiB`));
      state.weights = { device, loaded };
      weightsMs = performance.now() - tw;
    }
    if (!o.preview) await makePreview(o);
    setStatus(`Restoring ${o.name}…`, 'restoring');
    setProgress(0, 'encode (E_raw)');
    const res = await restoreToSrgb(state.weights.loaded.sys, o.raw, o.name, o.gain, (p) => setProgress(p.fraction, p.label));
    const tp = performance.now();
    const png = await encodePng({ width: res.image.width, height: res.image.height, channels: 3, bitDepth: 8, data: res.image.data });
    const pngMs = performance.now() - tp;
    state.result = { png, name: `${o.name.replace(/\.[^.]*$/, '')}-restored.png`, image: res.image, linear: res.linear };
    compare.show(toImageData(cropRgb8(o.preview!, res.image.width, res.image.height)), toImageData(res.image));
    ui.afterTag.hidden = false;
    ui.splitLabel.hidden = false;
    const total = performance.now() - t0;
    showTimings([
      { stage: 'decode RAW', ms: o.decodeMs },
      { stage: 'preview (bilinear + PTP)', ms: o.previewMs },
      ...(weightsMs ? [{ stage: `weights (fetch ${(state.weights.loaded.bytes / 2 ** 20).toFixed(1)} MiB, sha256, upload)`, ms: weightsMs }] : []),
      ...res.timings,
      { stage: 'PNG encode', ms: pngMs },
      { stage: 'total restore', ms: total },
    ]);
    setProgress(1, 'done');
    setStatus(`Restored ${o.name} (${res.image.width}×${res.image.height}) in ${(total / 1000).toFixed(1)} s. Drag over the image to compare.`, 'restored');
  });
}

function download(): void {
  const r = state.result;
  if (!r) return;
  const url = URL.createObjectURL(new Blob([r.png as Uint8Array<ArrayBuffer>], { type: 'image/png' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = r.name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

async function runTraining(): Promise<void> {
  clearProblem();
  state.stopTraining = false;
  const preview = state.opened?.preview;
  const photo = preview ? photoFromPreview(preview) : syntheticPhoto(128, 1);
  const steps = Number(ui.trainSteps.value);
  const points: LossPoint[] = [];
  delete ui.lossPlot.dataset.losses;
  drawLossPlot(ui.lossPlot, points, steps);
  ui.trainStop.disabled = false;
  setStatus('Building the tiny model and compiling kernels…', 'training', ui.trainStatus);
  await guarded('training', async () => {
    setStatus(`Training RVAE stage 1 on ${preview ? `the preview of ${state.opened!.name}` : 'a synthetic test pattern'}…`, 'training');
    await gpuDevice();
    const t0 = performance.now();
    const { stepsDone, stopped } = await trainRvae1InPage({
      steps,
      crop: Number(ui.trainCrop.value),
      batch: Number(ui.trainBatch.value),
      lr: Number(ui.trainLr.value),
      seed: 1,
      photo,
      onStep: (r) => {
        points.push({ step: r.step, loss: r.loss });
        ui.lossPlot.dataset.losses = JSON.stringify(points.map((p) => p.loss));
        drawLossPlot(ui.lossPlot, points, steps);
        setProgress(r.step / steps, `step ${r.step}/${steps}`);
        setStatus(`step ${r.step}/${steps}: loss ${r.loss.toFixed(4)} (${((performance.now() - t0) / r.step / 1000).toFixed(2)} s/step)`, 'training', ui.trainStatus);
      },
      shouldStop: () => state.stopTraining,
    });
    const first = points[0]?.loss, last = points[points.length - 1]?.loss;
    const summary = `${stopped ? 'Stopped after' : 'Trained'} ${stepsDone} steps in ${((performance.now() - t0) / 1000).toFixed(1)} s: loss ${first?.toFixed(4)} → ${last?.toFixed(4)}`;
    setStatus(summary, stopped ? 'stopped' : 'trained', ui.trainStatus);
    setStatus(summary, stopped ? 'stopped' : 'trained');
  });
  if (ui.trainStatus.dataset.phase === 'training') setStatus('Training stopped by an error: see the message above.', 'error', ui.trainStatus);
  ui.trainStop.disabled = true;
}

function wireEvents(): void {
  ui.fileInput.addEventListener('change', () => {
    const f = ui.fileInput.files?.[0];
    ui.fileInput.value = '';
    if (f) void openFile(f);
  });
  // A file dropped anywhere else would make the browser navigate to it and lose the page.
  for (const type of ['dragover', 'drop'] as const) window.addEventListener(type, (e) => e.preventDefault());
  ui.dropZone.addEventListener('dragover', (e) => {
    e.preventDefault();
    ui.dropZone.classList.add('over');
  });
  ui.dropZone.addEventListener('keydown', (e) => {
    if ((e.key === 'Enter' || e.key === ' ') && e.target === ui.dropZone && !state.busy) {
      e.preventDefault();
      ui.fileInput.click();
    }
  });
  ui.dropZone.addEventListener('dragleave', () => ui.dropZone.classList.remove('over'));
  ui.dropZone.addEventListener('drop', (e) => {
    e.preventDefault();
    ui.dropZone.classList.remove('over');
    const f = e.dataTransfer?.files[0];
    if (f) void openFile(f);
  });
  ui.sampleButton.addEventListener('click', () =>
    void (async () => {
      let bytes: Uint8Array;
      try {
        const res = await fetch(SAMPLE);
        if (!res.ok) throw new Error(`${SAMPLE}: the server answered ${res.status}`);
        bytes = new Uint8Array(await res.arrayBuffer());
      } catch (e) {
        showProblem({ kind: 'failed', message: `Could not fetch the sample: ${e instanceof Error ? e.message : String(e)}` });
        return;
      }
      await openBytes('astronaut-256.dng', bytes);
    })(),
  );
  ui.bin.addEventListener('change', () => {
    const o = state.opened;
    if (o && !state.busy) void openBytes(o.name, o.bytes);
  });
  ui.exposure.addEventListener('change', () => {
    if (!state.busy) void changeExposure();
  });
  ui.restore.addEventListener('click', () => void restore());
  ui.download.addEventListener('click', download);
  ui.trainButton.addEventListener('click', () => void runTraining());
  ui.trainStop.addEventListener('click', () => {
    state.stopTraining = true;
    ui.trainStop.disabled = true;
  });
}

async function start(): Promise<void> {
  wireEvents();
  drawLossPlot(ui.lossPlot, [], Number(ui.trainSteps.value));
  const probe = await probeWebGpu();
  if (probe.ok) {
    state.webgpu = true;
    showAdapter(probe.report);
    if (probe.report.fallback) {
      // Measured with SwiftShader on 2 busy cores: ~11 minutes for the 256x256 sample at full size, under a minute at 1/4.
      ui.bin.value = '4';
      el('bin-note').textContent = 'A software adapter is slow: ¼ size is preselected; choose full resolution if you can wait minutes.';
    }
  } else {
    state.gpuProblem = { kind: probe.reason, message: probe.message };
    ui.gpuSummary.textContent = probe.reason === 'no-webgpu' ? 'No WebGPU in this browser.' : 'WebGPU has no adapter here.';
    ui.gpuSummary.classList.add('missing');
    showProblem(state.gpuProblem);
  }
  setBusy(false);
  document.body.dataset.ready = 'true';
}

void start();
