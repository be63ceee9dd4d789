#!/usr/bin/env bash
# The A/B that chose the tiny model's configs (issue 26; weights/README.md records its tables): the one-step 256²
# restore of each candidate (VAE + UNet config, random weights), interleaved, with the share of its kernel time
# spent in attention; then the wall time of a training step of each recipe stage at the recipe's batch and crop.
# CANDIDATES / TRAIN_CANDIDATES pick them (bench/model-configs.ts lists them), REPS the restore runs of each,
# STEPS the training steps timed per stage (the median is over those after the 8 capturing steps), JSON_DIR
# where both reports go.
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
CANDIDATES="${CANDIDATES:-shipped,unet-top-off,lean-2,lean-3,lean-3a,lean-3w}"
TRAIN_CANDIDATES="${TRAIN_CANDIDATES:-shipped,lean-3}"
JSON_DIR="${JSON_DIR:-bench/results}"
mkdir -p "$JSON_DIR"
node scripts/run-ts.mjs bench/model-configs.ts --mode restore --candidates "$CANDIDATES" --reps "${REPS:-3}" --json "$JSON_DIR/model-configs-restore.json"
bash scripts/fetch-photos.sh
node scripts/run-ts.mjs bench/model-configs.ts --mode train --candidates "$TRAIN_CANDIDATES" --batch "${BATCH:-4}" --crop "${CROP:-64}" --steps "${STEPS:-14}" --json "$JSON_DIR/model-configs-train.json"
