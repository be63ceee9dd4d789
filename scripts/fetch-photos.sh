#!/usr/bin/env bash
# Gathers the natural sRGB photos listed in datasets/photos.json from Debian packages (apt-get download +
# dpkg -x: nothing is installed) into data/photos/{train,eval}/ (git-ignored). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
out=data/photos
list=datasets/photos.json
if [ -d "$out/train" ] && [ -d "$out/eval" ] && [ "$(ls "$out/train" "$out/eval" | wc -l)" -ge 9 ]; then
  echo "fetch-photos: $out already populated"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pkgs=$(node -e "const l=require('./$list'); console.log([...new Set([...l.train,...l.eval].map(e=>e.package))].join(' '))")
( cd "$work" && for p in $pkgs; do
    apt-get download "$p" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get download "$p" >/dev/null; }
  done
  for d in *.deb; do dpkg -x "$d" extracted; done )
mkdir -p "$out/train" "$out/eval"
node -e "
const fs=require('fs'), path=require('path');
const l=require('./$list');
for (const split of ['train','eval']) for (const e of l[split]) {
  const src=path.join('$work/extracted', l.sources[e.package], e.file);
  if (!fs.existsSync(src)) { console.error('fetch-photos: missing '+src); process.exit(1); }
  fs.copyFileSync(src, path.join('$out', split, e.file));
}
console.log('fetch-photos: ' + l.train.length + ' training and ' + l.eval.length + ' evaluation photos in $out');
"
