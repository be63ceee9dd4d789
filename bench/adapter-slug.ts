// Prints a short name of this machine's WebGPU adapter for result file names (h100, h200, lavapipe, …).
import { init } from '../src/index.js';

const dev = await init();
const a = dev.adapter;
const text = `${a.description} ${a.device} ${a.vendor} ${a.architecture}`.toLowerCase();
const known = [/h200/, /h100/, /a100/, /l4\b/, /rtx ?\d+/, /llvmpipe|lavapipe/, /swiftshader/];
const hit = known.map((r) => text.match(r)?.[0]).find(Boolean);
const slug = (hit ?? (a.description || a.vendor || 'adapter')).replace(/llvmpipe/, 'lavapipe').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
console.log(slug || 'adapter');
process.exit(0);
