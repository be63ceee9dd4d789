// The work of scripts/fetch-photos.sh: brings every photo of datasets/photos.json into data/photos/<split>/.
// Packages come with `apt-get download` (no root, nothing installed) and are kept in data/.debs/ so that adding an
// entry later downloads only its package; only the listed paths are unpacked (dpkg-deb | tar). A plain entry is copied,
// a "downscale" entry is area-averaged and written as a PNG, an "unpack" entry is turned into a PPM. Every file is
// written to a temporary name and renamed, so an interrupted run leaves no half-written photo behind. Files in a split
// folder that the list no longer names there are removed, so `rddm eval --split` sees exactly the listed photos.

import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodePhoto, parsePhotoList, PHOTO_SPLITS, type PhotoEntry } from '../src/eval/photos.js';
import { downscaleArea, toRgb8 } from '../src/eval/downscale.js';
import { encodePng } from '../src/io/png.js';

const LIST = 'datasets/photos.json', OUT = 'data/photos', DEBS = 'data/.debs';

function fail(why: string): never {
  console.error(`fetch-photos: ${why}`);
  process.exit(1);
}

const list = parsePhotoList(JSON.parse(readFileSync(LIST, 'utf8')), LIST);

// Drop what the list no longer names in a split (a photo moved to another split, a renamed entry, a stale .tmp).
for (const split of PHOTO_SPLITS) {
  const dir = join(OUT, split);
  mkdirSync(dir, { recursive: true });
  const listed = new Set(list[split].map((e) => e.file));
  for (const f of readdirSync(dir)) {
    if (listed.has(f) || !statSync(join(dir, f)).isFile()) continue;
    rmSync(join(dir, f));
    console.log(`fetch-photos: removed ${split}/${f} (not listed for ${split})`);
  }
}
if (existsSync(join(OUT, 'eval'))) console.log(`fetch-photos: ${OUT}/eval/ is the old layout (now validation/ and test/); nothing reads it, remove it when you like`);

const missing = PHOTO_SPLITS.flatMap((split) => list[split].filter((e) => !existsSync(join(OUT, split, e.file))).map((e) => ({ split, e })));
if (!missing.length) {
  console.log(`fetch-photos: ${OUT} already populated`);
  process.exit(0);
}

mkdirSync(DEBS, { recursive: true });
const work = mkdtempSync(join(DEBS, 'work-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

/** The cached .deb of a package, downloaded first if data/.debs/ has none. */
function debOf(pkg: string): string {
  const cached = readdirSync(DEBS).filter((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb')).sort();
  if (cached.length) return join(DEBS, cached[cached.length - 1]!);
  if (spawnSync('sh', ['-c', 'command -v apt-get && command -v dpkg-deb'], { stdio: 'ignore' }).status !== 0) {
    fail('needs apt-get and dpkg-deb (a Debian or Ubuntu machine) to download the photo packages');
  }
  const dl = mkdtempSync(join(work, 'dl-'));
  const download = () => spawnSync('apt-get', ['download', pkg], { cwd: dl, encoding: 'utf8' });
  let r = download();
  if (r.status !== 0) {
    // The package lists may be stale or absent (a fresh container); apt-get update needs root, so it may fail too.
    spawnSync('apt-get', ['update', '-q'], { stdio: 'ignore' });
    r = download();
  }
  const got = readdirSync(dl).filter((f) => f.endsWith('.deb'));
  if (r.status !== 0 || got.length !== 1) {
    fail(`apt-get download ${pkg} failed: ${(r.stderr || r.stdout || '').trim()}\n  The package must be in Debian bookworm main; as root, run \`apt-get update\` and try again.`);
  }
  const dest = join(DEBS, got[0]!);
  renameSync(join(dl, got[0]!), dest);
  console.log(`fetch-photos: downloaded ${got[0]} (${(statSync(dest).size / 1e6).toFixed(1)} MB)`);
  return dest;
}

/** Unpacks the given paths of a package into `into`, without the rest of it. */
function extract(deb: string, paths: string[], into: string): void {
  const tar = execFileSync('dpkg-deb', ['--fsys-tarfile', deb], { maxBuffer: 1 << 30 });
  const r = spawnSync('tar', ['-x', '-C', into, '-f', '-', ...paths.map((p) => `./${p}`)], { input: tar, encoding: 'utf8' });
  if (r.status !== 0) {
    fail(`${deb} lacks some listed paths (${r.stderr.trim()}).\n  A newer package version may have moved them: fix datasets/photos.json, or delete ${deb} to download it again.`);
  }
}

async function produce(e: PhotoEntry, src: string, dest: string): Promise<string> {
  const tmp = `${dest}.tmp`;
  if (e.unpack) {
    const u = e.unpack;
    const rgb = execFileSync('bzip2', ['-dc', src], { maxBuffer: 1 << 28 });
    if (rgb.length !== u.width * u.height * 3) fail(`${e.package}:${e.path} holds ${rgb.length} bytes, not ${u.width}x${u.height} RGB`);
    writeFileSync(tmp, Buffer.concat([Buffer.from(`P6\n${u.width} ${u.height}\n255\n`), rgb]));
  } else if (e.downscale) {
    const img = await decodePhoto(new Uint8Array(readFileSync(src)), `${e.package}:${e.path}`);
    const small = downscaleArea(img, e.downscale);
    writeFileSync(tmp, await encodePng({ width: small.width, height: small.height, channels: 3, bitDepth: 8, data: toRgb8(small) }));
    renameSync(tmp, dest);
    return `${img.width}x${img.height} / ${e.downscale} -> ${small.width}x${small.height}`;
  } else {
    copyFileSync(src, tmp);
  }
  renameSync(tmp, dest);
  return e.unpack ? 'unpacked' : 'copied';
}

const byPackage = new Map<string, typeof missing>();
for (const m of missing) byPackage.set(m.e.package, [...(byPackage.get(m.e.package) ?? []), m]);
for (const [pkg, items] of byPackage) {
  const deb = debOf(pkg);
  const into = mkdtempSync(join(work, 'x-'));
  extract(deb, [...new Set(items.map((m) => m.e.path))], into);
  for (const { split, e } of items) {
    const how = await produce(e, join(into, e.path), join(OUT, split, e.file));
    console.log(`fetch-photos: ${split}/${e.file} (${pkg}, ${how})`);
  }
  rmSync(into, { recursive: true, force: true });
}
const n = (s: (typeof PHOTO_SPLITS)[number]) => list[s].length;
console.log(`fetch-photos: ${n('train')} training, ${n('validation')} validation and ${n('test')} test photos in ${OUT}`);
