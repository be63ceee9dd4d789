#!/bin/sh
# Regenerates test/models/diffusers/fixtures (see README.md here). Run from the repository root:
#   DIFFUSERS_SRC=/path/to/diffusers PEFT_SRC=/path/to/peft sh test/models/diffusers/gen/run.sh
# DIFFUSERS_SRC / PEFT_SRC: checkouts of the pinned commits: diffusers v0.31.0 (89e4d6219805975bd7d253a267e1951badc9f1c0),
# PEFT v0.13.2 (431c0e2d5ca56fa512dc4c96876c4145bb538f62); README.md says how to get them.
set -eu
: "${DIFFUSERS_SRC:?set DIFFUSERS_SRC to a diffusers checkout at the pinned commit}"
: "${PEFT_SRC:?set PEFT_SRC to a PEFT checkout at the pinned commit}"
here=$(dirname "$0")
run_py() {
  HF_HUB_OFFLINE=1 HF_HOME="${TMPDIR:-/tmp}/rddm-hf" PYTHONPATH="$here/stubs:$DIFFUSERS_SRC/src:$PEFT_SRC/src" /usr/bin/python3 "$@"
}
# --sd21 DIR: SD 2.1 at full size made by diffusers (3.8 GB, for the slow test; see sd21_reference.py).
if [ "${1:-}" = "--sd21" ]; then
  run_py "$here/sd21_reference.py" "$2"
  exit 0
fi
out=test/models/diffusers/fixtures
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
node scripts/run-ts.mjs src/cli/main.ts export weights/rddm-tiny --to diffusers "$tmp/export"
rm -rf "$out"
mkdir -p "$out"
# Debian's python3 (python3-torch), the pinned sources, and the local stand-ins for the hub client, safetensors,
# transformers and accelerate. HF_HUB_OFFLINE: nothing is fetched; only local folders are read.
run_py "$here/generate.py" --export "$tmp/export" --weights weights/rddm-tiny --out "$out"
