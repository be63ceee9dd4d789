// Makes the demo's RAW sample: NASA's public-domain "astronaut" photo (scikit-image), halved to 256x256, through
// our synthesis pipeline (IPTP with a seeded camera, mosaic RGGB, shot/read noise at a fixed mid-range level,
// 14-bit quantisation). Writes samples/astronaut-256.{dng,json} and the clean linear target astronaut-256-hq.png
// (16-bit). Run: node scripts/run-ts.mjs scripts/make-sample.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { init } from '../src/index.js';
import { decodePhoto } from '../src/eval/photos.js';
import { synthesizeBatch, type SrgbImage } from '../src/raw/synth-batch.js';
import { writeDng } from '../src/raw/dng-writer.js';
import { encodePng } from '../src/io/png.js';
import { SYNTH_SENSOR } from '../src/cli/commands/synth.js';
import type { Matrix3 } from '../src/raw/raw-image.js';

await init();
const src = await decodePhoto(new Uint8Array(readFileSync('data/photos/validation/astronaut.png')), 'astronaut.png');
const S = 256;
const half: SrgbImage = { width: S, height: S, data: new Float32Array(S * S * 3) };
for (let y = 0; y < S; y++)
  for (let x = 0; x < S; x++)
    for (let c = 0; c < 3; c++) {
      let v = 0;
      for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) v += src.data[((2 * y + i) * src.width + 2 * x + j) * 3 + c];
      half.data[(y * S + x) * 3 + c] = v / 4;
    }
const noise = { shotNoiseRange: [4e-3, 4e-3] as [number, number], readNoiseStd: 0 };
const b = synthesizeBatch([half], { cropSize: S, patterns: ['RGGB'], seed: 2026, flip: false, degrade: { blurProb: 0, resizeProb: 0 }, camera: noise, quantize: SYNTH_SENSOR });
const [lq, hq, wb, ccm] = await Promise.all([b.lq.data(), b.hqLinear.data(), b.wbGains.data(), b.cam2rgb.data()]);
const { blackLevel: black, whiteLevel: white } = SYNTH_SENSOR;
const mosaic = Uint16Array.from(lq, (v) => Math.min(white, Math.max(0, Math.round(v * (white - black) + black))));
const cam2rgb = [0, 1, 2].map((r) => [0, 1, 2].map((c) => ccm[r * 3 + c])) as Matrix3;
writeFileSync('samples/astronaut-256.dng', writeDng({ width: S, height: S, mosaic, cfaPattern: 'RGGB', blackLevel: [black, black, black, black], whiteLevel: white, asShotWB: [wb[0] / wb[1], 1, wb[2] / wb[1]], cam2rgb, orientation: 1, make: 'rddm', model: 'synthetic' }));
const hq16 = new Uint16Array(S * S * 3);
for (let c = 0; c < 3; c++) for (let i = 0; i < S * S; i++) hq16[i * 3 + c] = Math.round(Math.min(1, Math.max(0, hq[c * S * S + i])) * 65535);
writeFileSync('samples/astronaut-256-hq.png', await encodePng({ width: S, height: S, channels: 3, bitDepth: 16, data: hq16 }));
writeFileSync('samples/astronaut-256.json', JSON.stringify({ source: 'scikit-image astronaut.png (NASA, public domain), 2x2-averaged to 256x256', wbGains: Array.from(wb), cam2rgb, shotNoise: b.params[0].shotNoise, readNoise: b.params[0].readNoise, sensor: SYNTH_SENSOR, seed: 2026 }, null, 2) + '\n');
console.log('wrote samples/astronaut-256.{dng,json} and samples/astronaut-256-hq.png');
