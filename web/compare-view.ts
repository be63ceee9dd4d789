// Before/after comparison: the restored canvas lies over the preview and is clipped at the split, which follows the
// pointer (drag) or the range input (keyboard). Clipping through CSSOM keeps the page free of inline styles (CSP).

export class CompareView {
  private split = 0.5;

  constructor(
    private readonly box: HTMLElement,
    private readonly before: HTMLCanvasElement,
    private readonly after: HTMLCanvasElement,
    private readonly handle: HTMLElement,
    private readonly range: HTMLInputElement,
  ) {
    range.addEventListener('input', () => this.setSplit(Number(range.value) / Number(range.max)));
    const follow = (e: PointerEvent) => {
      const r = box.getBoundingClientRect();
      if (r.width > 0) this.setSplit((e.clientX - r.left) / r.width);
    };
    box.addEventListener('pointerdown', (e) => {
      box.setPointerCapture(e.pointerId);
      follow(e);
    });
    box.addEventListener('pointermove', (e) => {
      if (box.hasPointerCapture(e.pointerId)) follow(e);
    });
  }

  /** Shows the preview alone (after = null) or both. */
  show(before: ImageData, after: ImageData | null): void {
    for (const [canvas, img] of [[this.before, before], [this.after, after]] as const) {
      if (!img) continue;
      canvas.width = img.width;
      canvas.height = img.height;
      canvas.getContext('2d')!.putImageData(img, 0, 0);
    }
    // Small images (a binned RAW, the 256² sample) are shown enlarged by a whole factor, pixels kept sharp.
    const scale = Math.max(1, Math.floor(512 / Math.max(before.width, before.height)));
    this.box.style.width = `${before.width * scale}px`;
    this.box.classList.toggle('enlarged', scale > 1);
    this.after.hidden = after === null;
    this.handle.hidden = after === null;
    this.box.hidden = false;
    if (after) this.setSplit(this.split);
  }

  hide(): void {
    this.box.hidden = true;
  }

  setSplit(f: number): void {
    this.split = Math.min(1, Math.max(0, f));
    const pct = (this.split * 100).toFixed(2);
    this.after.style.clipPath = `inset(0 0 0 ${pct}%)`;
    this.handle.style.left = `calc(${pct}% - 1px)`;
    this.range.value = String(Math.round(this.split * Number(this.range.max)));
  }
}
