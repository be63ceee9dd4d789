#!/bin/sh
# Fetches real test images from Debian's archive into data/test-raw/ (git-ignored). Idempotent.
#   IMG_5952.CR2, IMG_5952.png  Canon EOS 30D RAW and a rendering of it, from rawtran-doc. GPL
#                               documentation: never commit these files.
#   kodim02-lzw.tif, kodim07-lzw.tif  Kodak test photos (LZW TIFF, "released for unrestricted use"),
#                               from librust-tiff-dev; optional, a failure here is only reported.
# Prints the CR2's path on success.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/data/test-raw"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# fetch PACKAGE DIR-IN-PACKAGE FILE... : copies each FILE missing from $dest out of PACKAGE's .deb.
fetch() {
  pkg=$1 dir=$2
  shift 2
  missing=
  for f in "$@"; do [ -s "$dest/$f" ] || missing="$missing $f"; done
  [ -z "$missing" ] && return 0
  command -v apt-get >/dev/null 2>&1 || { echo "fetch-test-raw: needs apt-get (Debian/Ubuntu)" >&2; return 1; }
  # apt-get download needs no root; refresh the package lists only if the first try fails.
  if ! (cd "$work" && apt-get download "$pkg" >/dev/null 2>&1); then
    apt-get update >/dev/null 2>&1 || true
    (cd "$work" && apt-get download "$pkg" >/dev/null) || return 1
  fi
  dpkg -x "$work/${pkg}"_*.deb "$work/$pkg"
  mkdir -p "$dest"
  for f in $missing; do
    src=$(find "$work/$pkg/$dir" -name "$f" | head -n 1)
    [ -n "$src" ] || { echo "fetch-test-raw: $f not found in $pkg" >&2; return 1; }
    cp "$src" "$dest/$f.tmp-$$" && mv "$dest/$f.tmp-$$" "$dest/$f"
  done
}

fetch rawtran-doc usr/share/doc/rawtran IMG_5952.CR2 IMG_5952.png
fetch librust-tiff-dev usr/share/cargo kodim02-lzw.tif kodim07-lzw.tif || echo "fetch-test-raw: Kodak TIFFs unavailable (optional)" >&2
echo "$dest/IMG_5952.CR2"
