#!/bin/sh
# Puts a real camera RAW file (Canon EOS 30D, from Debian's rawtran-doc) at data/test-raw/IMG_5952.CR2.
# The file is GPL-licensed documentation: data/ is git-ignored, never commit it. Idempotent.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/data/test-raw"
target="$dest/IMG_5952.CR2"
[ -s "$target" ] && { echo "$target"; exit 0; }
command -v apt-get >/dev/null 2>&1 || { echo "fetch-test-raw: needs apt-get (Debian/Ubuntu)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
# apt-get download needs no root; refresh the package lists only if the first try fails.
if ! apt-get download rawtran-doc >/dev/null 2>&1; then
  apt-get update >/dev/null 2>&1 || true
  apt-get download rawtran-doc >/dev/null
fi
dpkg -x rawtran-doc_*.deb extracted
src=$(find extracted -name IMG_5952.CR2 | head -n 1)
[ -n "$src" ] || { echo "fetch-test-raw: IMG_5952.CR2 not found in rawtran-doc" >&2; exit 1; }
mkdir -p "$dest"
cp "$src" "$target.tmp-$$"
mv "$target.tmp-$$" "$target"
echo "$target"
