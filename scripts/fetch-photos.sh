#!/usr/bin/env bash
# Gathers the real photos listed in datasets/photos.json from Debian packages (apt-get download + dpkg-deb: nothing is
# installed, no root needed once the package lists are there) into data/photos/{train,validation,test}/ (git-ignored),
# caching the .debs in data/.debs/. Idempotent: does nothing when every split folder holds exactly its listed photos.
# The work is in scripts/fetch-photos.ts: large wallpapers are area-downscaled to PNG, SciPy's face.dat (bzip2 raw
# RGB) becomes a PPM (needs bzip2), and a file the list no longer names in a split is removed from that split.
set -euo pipefail
cd "$(dirname "$0")/.."
if node -e "
const fs=require('fs'), l=require('./datasets/photos.json'), splits=['train','validation','test'];
process.exit(splits.every(s => Array.isArray(l[s]) && fs.existsSync('data/photos/'+s) &&
  JSON.stringify(l[s].map(e => e.file).sort()) === JSON.stringify(fs.readdirSync('data/photos/'+s).sort())) ? 0 : 1);
"; then
  echo "fetch-photos: data/photos already populated"
  exit 0
fi
[ -d node_modules/esbuild ] || { echo "fetch-photos: needs the repository's node modules (npm ci) to run scripts/fetch-photos.ts" >&2; exit 1; }
exec node scripts/run-ts.mjs scripts/fetch-photos.ts
