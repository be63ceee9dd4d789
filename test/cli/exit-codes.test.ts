// Every `rddm` command validates its arguments before doing any work: exit code 2 and the command's usage for
// misuse (unknown option, missing or malformed value), 1 for a runtime failure (missing input file or folder,
// unreadable data), 0 for success. Run in-process through runCli (the same dispatcher bin/rddm.js runs), plus a
// few real processes to check that the codes reach the shell.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { commands } from '../../src/cli/registry.js';
import { writeDng } from '../../src/raw/dng-writer.js';
import { syntheticMosaic } from '../helpers/test-raw.js';

const dir = mkdtempSync(join(tmpdir(), 'rddm-exit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const dng = join(dir, 'in.dng');
writeFileSync(
  dng,
  writeDng({ width: 32, height: 32, mosaic: syntheticMosaic(32, 32, 12), cfaPattern: 'RGGB', blackLevel: [64, 64, 64, 64], whiteLevel: 4095, asShotWB: [2, 1, 1.5], cam2rgb: [[1, 0, 0], [0, 1, 0], [0, 0, 1]] }),
);
const corrupt = join(dir, 'corrupt.dng');
writeFileSync(corrupt, new Uint8Array([0x49, 0x49, 42, 0, 8, 0, 0, 0, 0xff, 0xff]));
const missing = join(dir, 'no-such.dng');
const noDir = join(dir, 'no-such-folder', 'out.png');

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  try {
    return { code: await runCli(argv), out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

/** [argv, exit code, what stderr must say]. */
type Case = [string[], 0 | 1 | 2, RegExp];
const CASES: Record<string, Case[]> = {
  doctor: [
    [['doctor', '--bogus'], 2, /unknown option --bogus/],
    [['doctor', 'extra'], 2, /unexpected argument 'extra'/],
  ],
  info: [
    [['info', dng, '--bogus'], 2, /unknown option --bogus/],
    [['info'], 2, /expected exactly one FILE/],
    [['info', missing], 1, /no-such\.dng: no such RAW file/],
    [['info', corrupt], 1, /corrupt\.dng: IFD 0 at offset 8 /],
    [['info', dir], 1, /is a folder, not a file/],
  ],
  decode: [
    [['decode', dng, '-o', join(dir, 'm.pgm'), '--bogus'], 2, /unknown option --bogus/],
    [['decode', dng], 2, /missing -o MOSAIC\.pgm/],
    [['decode', missing, '-o', join(dir, 'm.pgm')], 1, /no such RAW file/],
    [['decode', dng, '-o', noDir], 1, /-o .*out\.png: the folder .*no-such-folder does not exist/],
    [['decode', dng, '-o'], 2, /option --o needs a value/],
  ],
  synth: [
    [['synth', '--in', dir, '--out', dir, '--bogus'], 2, /unknown option --bogus/],
    [['synth', '--in', join(dir, 'nope'), '--out', dir], 1, /nope: no such photo folder/],
    [['synth', '--in', dir, '--out', dir, '--crop', '15'], 2, /--crop must be an even integer/],
    [['synth', '--in', dir, '--out', dir, '--seed', '-1'], 2, /--seed must be an integer >= 0, got '-1'/],
    [['synth', '--in', '--out', dir], 2, /option --in needs a value/],
  ],
  model: [
    [['model', '--config', 'tiny-vae', '--bogus'], 2, /unknown option --bogus/],
    [['model', '--config', 'nope'], 2, /unknown config 'nope'; known: /],
    [['model', '--config', 'tiny-vae', '--size', '0'], 2, /--size must be a positive integer/],
  ],
  'train-rvae': [
    [['train-rvae', '--stage', '1', '--bogus'], 2, /unknown option --bogus/],
    [['train-rvae', '--stage', '3'], 2, /--stage must be 1 or 2, got '3'/],
    [['train-rvae'], 2, /--stage must be 1 or 2/],
    [['train-rvae', '--stage', '2'], 2, /pass --init DIR/],
    [['train-rvae', '--stage', '2', '--init', join(dir, 'nope')], 1, /manifest\.json: no such weights manifest/],
    [['train-rvae', '--stage', '1', '--steps', '0'], 2, /--steps must be an integer >= 1, got '0'/],
    [['train-rvae', '--stage', '1', '--steps', '10', '--stop-at', '10'], 2, /--stop-at 10 must be below --steps 10/],
    [['train-rvae', '--stage', '1', '--stop-at', '0'], 2, /--stop-at must be an integer >= 1, got '0'/],
    [['train-rvae', '--stage', '1', '--crop', '12'], 2, /--crop must be a multiple of 8/],
    [['train-rvae', '--stage', '1', '--lr', 'fast'], 2, /--lr must be a positive number, got 'fast'/],
    [['train-rvae', '--stage', '1', '--max-memory', 'lots'], 2, /--max-memory must be a positive number/],
    // 1 MiB cannot hold the flat parameters, gradients and moments: refused before training, naming sizes and limit.
    [['train-rvae', '--stage', '1', '--steps', '1', '--max-memory', '1', '--run', join(dir, 'mem-run')], 1, /optimizer flat storage.*needs [\d.]+ MiB.*of the 1\.0 MiB memory limit.*--max-memory/],
    [['train-rvae', '--stage', '1', '--vae', 'tiny-unet'], 2, /--vae 'tiny-unet' is not a known VAE config; known: .*tiny-vae-x2/],
    [['train-rvae', '--stage', '1', '--unet', 'bogus'], 2, /--unet 'bogus' is not a known UNet config; known: .*tiny-unet/],
    [['train-rvae', '--stage', '2', '--init', 'weights/rddm-tiny', '--vae', 'tiny-vae'], 2, /the --init weights already fix it/],
    [['train-rvae', '--stage', '1', 'extra'], 2, /unexpected argument 'extra'/],
  ],
  train: [
    [['train', '--bogus'], 2, /unknown option --bogus/],
    [['train', '--mode', 'x'], 2, /--mode must be onestep or multistep, got 'x'/],
    [['train', '--init', join(dir, 'nope')], 1, /no such weights manifest/],
    [['train', '--init', dir, '--timestep', '1000'], 2, /--timestep must be an integer in 0\.\.999/],
    [['train', '--init', dir, '--out', '--seed', '3'], 2, /option --out needs a value/],
  ],
  restore: [
    [['restore', dng, '-o', join(dir, 'r.png'), '--bogus'], 2, /unknown option --bogus/],
    [['restore', dng], 2, /-o OUT\.png is required/],
    [['restore', '-o', join(dir, 'r.png')], 2, /name a RAW file/],
    [['restore', missing, '-o', join(dir, 'r.png')], 1, /no-such\.dng: no such RAW file/],
    [['restore', dng, '-o', noDir], 1, /the folder .*no-such-folder does not exist/],
    [['restore', dng, '-o', join(dir, 'r.png'), '--steps', '0'], 2, /--steps must be an integer in 1\.\.1000, got '0'/],
    [['restore', dng, '-o', join(dir, 'r.png'), '--tile', '8'], 2, /--tile must be an integer in 16\.\./],
    [['restore', dng, '-o', join(dir, 'r.png'), '--bin', 'x'], 2, /--bin must be an integer/],
    [['restore', dng, '-o', join(dir, 'r.png'), '--pattern', 'RGBG'], 2, /--pattern must be auto, RGGB/],
    [['restore', dng, '-o', join(dir, 'r.png'), '--max-memory', '0'], 2, /--max-memory must be a positive number/],
    [['restore', dng, '-o', join(dir, 'r.png'), '--colour-fix', '0.2'], 2, /--colour-fix must be 0 \(off\) or a σ in pixels from 0\.5 to 64, got '0\.2'/],
    [['restore', dng, '-o', join(dir, 'r.png'), '--exposure', 'bright'], 2, /--exposure must be auto \(dcraw's automatic brightness.*got 'bright'/],
    [['restore', dng, '-o', join(dir, 'r.png'), '--exposure', '17'], 2, /EV within ±16, got '17'/],
    [['restore', dng, '-o', join(dir, 'r.png'), '--exposure'], 2, /option --exposure needs a value/],
    [['restore', dng, '-o', join(dir, 'r.png'), '--weights', join(dir, 'nope')], 1, /no such weights manifest/],
    [['restore', corrupt, '-o', join(dir, 'r.png'), '--weights', 'weights/rddm-tiny'], 1, /corrupt\.dng: /],
  ],
  eval: [
    [['eval', '--bogus'], 2, /unknown option --bogus/],
    [['eval', 'extra'], 2, /unexpected argument 'extra'/],
    [['eval', '--data', join(dir, 'nope')], 1, /nope: no such photo folder/],
    [['eval', '--split', 'train'], 2, /--split must be validation or test, got 'train'/],
    [['eval', '--crop', '100'], 2, /--crop must be a multiple of 16/],
    [['eval', '--methods', 'rddm,fancy'], 2, /unknown method 'fancy'/],
    [['eval', '--colour-fix', '-1'], 2, /--colour-fix must be 0 \(off\)/],
    [['eval', '--colour-fix-band', 'x'], 2, /--colour-fix-band must be 0 \(off\) or a σ/],
    [['eval', '--methods', 'rddm', '--colour-fix', '2', '--colour-fix-band', '3'], 2, /--colour-fix-band \(3\) must be below the colour fix's σ \(2\)/],
    [['eval', '--json', noDir], 1, /--json .*: the folder .* does not exist/],
    [['eval', '--noise-bins', '1'], 2, /--noise-bins must be an integer in 2..64, got '1'/],
  ],
  demo: [
    [['demo', '--bogus'], 2, /unknown option --bogus/],
    [['demo', 'extra'], 2, /unexpected argument 'extra'/],
    [['demo', '--weights', join(dir, 'nope')], 1, /no weights at .*nope/],
  ],
  profile: [
    [['profile', 'matmul', '--bogus'], 2, /unknown option --bogus/],
    [['profile'], 2, /name a workload/],
    [['profile', 'nope'], 2, /unknown workload 'nope'/],
    [['profile', 'matmul', '--weights', 'weights/rddm-tiny'], 2, /--weights applies to the restore workload only/],
    [['profile', 'restore', '--weights', join(dir, 'nope')], 1, /manifest\.json: no such weights manifest/],
    [['profile', 'matmul', '--size', 'abc'], 2, /--size must be an integer/],
    [['profile', 'train-step', '--config', 'nope'], 2, /unknown config 'nope'/],
    [['profile', 'matmul', '--trace', noDir], 1, /--trace .*: the folder .* does not exist/],
  ],
  export: [
    [['export', 'weights/rddm-tiny', join(dir, 'x')], 2, /--to diffusers is required/],
    [['export', 'weights/rddm-tiny', '--to', 'onnx', join(dir, 'x')], 2, /--to must be diffusers, got 'onnx'/],
    [['export', 'weights/rddm-tiny', '--to', 'diffusers'], 2, /expected WEIGHTS_DIR and OUT_DIR, got 1 argument/],
    [['export', join(dir, 'nope'), '--to', 'diffusers', join(dir, 'x')], 1, /manifest\.json: no such weights manifest .*nor is it a diffusers folder/],
    [['export', 'weights/rddm-tiny', '--to', 'diffusers', dir], 1, /exists and is not empty/],
  ],
  import: [
    [['import', dir, join(dir, 'x')], 2, /--from diffusers is required/],
    [['import', '--from', 'diffusers', dir], 2, /expected DIR and OUT_WEIGHTS, got 1 argument/],
    [['import', '--from', 'diffusers', dir, join(dir, 'x')], 1, /no unet\/config\.json: not a diffusers folder/],
    [['import', '--from', 'diffusers', dir, join(dir, 'x'), '--bogus'], 2, /unknown option --bogus/],
  ],
};

describe('rddm exit codes', () => {
  it('has cases for every command', () => {
    expect(Object.keys(CASES).sort()).toEqual(commands.map((c) => c.name).sort());
  });

  for (const [name, cases] of Object.entries(CASES)) {
    it(`${name}: misuse exits 2 with the usage, runtime failures exit 1`, async () => {
      for (const [argv, code, message] of cases) {
        const r = await cli(...argv);
        expect(r.code, `rddm ${argv.join(' ')}: ${r.err}`).toBe(code);
        expect(r.err, `rddm ${argv.join(' ')}`).toMatch(message);
        expect(r.err.startsWith(`rddm ${name}: `)).toBe(true);
        // Usage errors print the command's usage; runtime failures do not.
        expect(r.err.includes('usage: rddm'), `rddm ${argv.join(' ')}`).toBe(code === 2);
      }
      expect(readdirSync(dir).filter((f) => f.includes('.tmp-') || f === 'r.png' || f === 'm.pgm')).toEqual([]);
    });
  }

  it('the dispatcher: help, unknown commands, success', async () => {
    expect((await cli()).code).toBe(2);
    expect((await cli('--help')).code).toBe(0);
    expect((await cli('info', '--help')).out).toMatch(/usage: rddm info/);
    const unknown = await cli('nope');
    expect([unknown.code, /unknown command 'nope'/.test(unknown.err)]).toEqual([2, true]);
    expect((await cli('model', '--config', 'tiny-vae', '--json')).code).toBe(0);
    const info = await cli('info', dng, '--json');
    expect([info.code, JSON.parse(info.out).cfaPattern]).toEqual([0, 'RGGB']);
  });

  it('the codes reach the shell through bin/rddm.js', () => {
    const run = (...a: string[]) => spawnSync(process.execPath, ['bin/rddm.js', ...a], { encoding: 'utf8', timeout: 120_000 });
    const failed = run('info', missing);
    expect([failed.status, /no such RAW file/.test(failed.stderr)]).toEqual([1, true]);
    const misuse = run('decode', dng, '--bogus');
    expect([misuse.status, /unknown option --bogus[\s\S]*usage: rddm decode/.test(misuse.stderr)]).toEqual([2, true]);
  }, 180_000);
});
