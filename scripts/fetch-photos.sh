#!/usr/bin/env bash
# Gathers the natural sRGB photos listed in datasets/photos.json from Debian packages (apt-get download +
# dpkg -x: nothing is installed) into data/photos/{train,eval}/ (git-ignored). Idempotent: does nothing when every
# listed photo is there. An entry with "unpack" is stored in another container in its package (SciPy's face.dat:
# bzip2-compressed raw RGB rows) and is written out as a binary PPM; needs bzip2.
set -euo pipefail
cd "$(dirname "$0")/.."
out=data/photos
list=datasets/photos.json
if node -e "
const fs=require('fs'), l=require('./$list');
process.exit(['train','eval'].every(s => l[s].every(e => fs.existsSync('$out/'+s+'/'+e.file))) ? 0 : 1);
"; then
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
const fs=require('fs'), path=require('path'), { execFileSync }=require('child_process');
const l=require('./$list');
for (const split of ['train','eval']) for (const e of l[split]) {
  const src=path.join('$work/extracted', l.sources[e.package], e.unpack ? e.unpack.file : e.file);
  if (!fs.existsSync(src)) { console.error('fetch-photos: missing '+src); process.exit(1); }
  const dest=path.join('$out', split, e.file), tmp=dest+'.tmp';
  if (!e.unpack) { fs.copyFileSync(src, tmp); fs.renameSync(tmp, dest); continue; }
  const u=e.unpack;
  if (u.format !== 'bzip2-rgb8') { console.error('fetch-photos: unknown unpack format '+u.format); process.exit(1); }
  const rgb=execFileSync('bzip2', ['-dc', src], { maxBuffer: 1 << 28 });
  if (rgb.length !== u.width*u.height*3) { console.error('fetch-photos: '+src+' holds '+rgb.length+' bytes, not '+u.width+'x'+u.height+' RGB'); process.exit(1); }
  fs.writeFileSync(tmp, Buffer.concat([Buffer.from('P6\\n'+u.width+' '+u.height+'\\n255\\n'), rgb]));
  fs.renameSync(tmp, dest);
}
console.log('fetch-photos: ' + l.train.length + ' training and ' + l.eval.length + ' evaluation photos in $out');
"
