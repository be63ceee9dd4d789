// The training loss by step on a canvas: a line on a log-scaled y axis (losses fall by orders of magnitude early),
// redrawn whole after each step, which is cheap next to a training step.

export interface LossPoint {
  step: number;
  loss: number;
}

export function drawLossPlot(canvas: HTMLCanvasElement, points: readonly LossPoint[], totalSteps: number): void {
  const ctx = canvas.getContext('2d')!;
  const W = canvas.width, H = canvas.height;
  const pad = { left: 58, right: 12, top: 12, bottom: 28 };
  ctx.clearRect(0, 0, W, H);
  ctx.font = '12px system-ui, sans-serif';
  ctx.fillStyle = '#5b6570';
  ctx.strokeStyle = '#d5dbe3';
  ctx.strokeRect(pad.left, pad.top, W - pad.left - pad.right, H - pad.top - pad.bottom);
  const finite = points.filter((p) => Number.isFinite(p.loss) && p.loss > 0);
  if (!finite.length) {
    ctx.fillText('loss by step appears here', pad.left + 8, pad.top + 18);
    return;
  }
  let lo = Math.log10(Math.min(...finite.map((p) => p.loss)));
  let hi = Math.log10(Math.max(...finite.map((p) => p.loss)));
  if (hi - lo < 0.05) [lo, hi] = [lo - 0.025, hi + 0.025];
  const x = (step: number) => pad.left + ((step - 1) / Math.max(1, totalSteps - 1)) * (W - pad.left - pad.right);
  const y = (loss: number) => pad.top + ((hi - Math.log10(loss)) / (hi - lo)) * (H - pad.top - pad.bottom);
  ctx.textAlign = 'right';
  for (let k = 0; k <= 4; k++) {
    const v = 10 ** (hi - ((hi - lo) * k) / 4);
    const yy = y(v);
    ctx.fillText(v.toPrecision(3), pad.left - 6, yy + 4);
    ctx.beginPath();
    ctx.moveTo(pad.left, yy);
    ctx.lineTo(W - pad.right, yy);
    ctx.stroke();
  }
  ctx.textAlign = 'center';
  ctx.fillText(`step (of ${totalSteps})`, (pad.left + W - pad.right) / 2, H - 8);
  ctx.strokeStyle = '#2d6cdf';
  ctx.lineWidth = 2;
  ctx.beginPath();
  finite.forEach((p, i) => (i ? ctx.lineTo(x(p.step), y(p.loss)) : ctx.moveTo(x(p.step), y(p.loss))));
  ctx.stroke();
  ctx.lineWidth = 1;
}
