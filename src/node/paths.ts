import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';

/** The package root: the nearest folder above this file with a package.json named rddm (or the working directory). */
export function packageRoot(): string {
  let dir = resolve(fileURLToPath(import.meta.url), '..');
  for (let i = 0; i < 6; i++) {
    if (existsSync(resolve(dir, 'package.json')) && existsSync(resolve(dir, 'weights'))) return dir;
    dir = resolve(dir, '..');
  }
  return process.cwd();
}

/** The shipped weights of the tiny RDDM. */
export function defaultWeightsDir(): string {
  return resolve(packageRoot(), 'weights', 'rddm-tiny');
}
