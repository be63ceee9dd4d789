// Reads the photos of datasets/photos.json from data/photos/{train,validation,test}/ (put there by
// scripts/fetch-photos.sh) and decodes them. The only file access of the evaluation code.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodePhoto, parsePhotoList, type NamedPhoto, type PhotoSplit } from '../eval/photos.js';
import { ConfigCheck } from '../io/config-check.js';

export interface LoadPhotosOptions {
  /** Folder holding train/, validation/ and test/ (default data/photos, relative to the working directory). */
  root?: string;
  /** The photo list (default datasets/photos.json). */
  list?: string;
}

export async function loadPhotos(split: PhotoSplit, opts: LoadPhotosOptions = {}): Promise<NamedPhoto[]> {
  const root = opts.root ?? 'data/photos';
  const listPath = opts.list ?? 'datasets/photos.json';
  const list = parsePhotoList(new ConfigCheck(listPath).parseJson(await readFile(listPath, 'utf8')), listPath);
  return Promise.all(
    list[split].map(async (e) => {
      const path = join(root, split, e.file);
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(await readFile(path));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`loadPhotos: ${path} is missing; run \`bash scripts/fetch-photos.sh\` first`);
        throw err;
      }
      return { name: e.file, license: e.license, image: await decodePhoto(bytes, path) };
    }),
  );
}
