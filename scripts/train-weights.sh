#!/usr/bin/env bash
# Trains the shipped tiny RDDM weights: RVAE stage 1 → RVAE stage 2 → base UNet (ε-prediction) → one-step
# CMB-LoRA with the dual-domain loss. Each stage is resumable (re-run this script after an interruption) and
# writes its weights for the next. Steps, crop, batch and per-stage time limits (TIME_RVAE1 …) can be set through the
# environment.
# TIMESTEP (one-step T) defaults to 250, not SD's 999: our tiny base UNet is trained from scratch for minutes,
# and at T=999 the one-step estimate divides the UNet's error by sqrt(alpha_bar)=0.068 (15x amplification).
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
bash scripts/fetch-photos.sh
RUNS="${RUNS:-runs/weights}"
OUT="${OUT:-weights/rddm-tiny}"
CROP="${CROP:-32}"
BATCH="${BATCH:-2}"
SEED="${SEED:-1}"
stage() { # name steps lr cli-args...
  local name=$1 steps=$2 lr=$3; shift 3
  local resume=() limit=()
  [ -f "$RUNS/$name/checkpoint.safetensors" ] && resume=(--resume)
  # TIME_<STAGE> (seconds) bounds a stage's wall time, e.g. for a borrowed GPU window: it stops early, checkpointed.
  local tvar="TIME_${name^^}"
  [ -n "${!tvar:-}" ] && limit=(--time-limit "${!tvar}")
  if [ -f "$RUNS/$name/weights/manifest.json" ] && [ -f "$RUNS/$name/done" ]; then echo "stage $name: done"; return; fi
  # PERMUTE_COLOURS=1: random channel permutations of the photos (rddm train --permute-colours).
  local aug=()
  if [ "${PERMUTE_COLOURS:-0}" = 1 ]; then aug=(--permute-colours); fi
  # LR_SCHEDULE=cosine: decay each stage's learning rate over its STEPS_* (rddm train --lr-schedule).
  if [ -n "${LR_SCHEDULE:-}" ]; then aug+=(--lr-schedule "$LR_SCHEDULE"); fi
  # DEGRADE_PROB=p: probability of each detail degradation, blur and resize (rddm train --degrade-prob; default 0.5).
  if [ -n "${DEGRADE_PROB:-}" ]; then aug+=(--degrade-prob "$DEGRADE_PROB"); fi
  node bin/rddm.js "$@" --steps "$steps" --lr "$lr" --crop "$CROP" --batch "$BATCH" --seed "$SEED" --run "$RUNS/$name" --out "$RUNS/$name/weights" "${resume[@]}" "${limit[@]}" "${aug[@]}"
  touch "$RUNS/$name/done"
}
# INIT_RVAE1=DIR continues from earlier weights (e.g. the shipped ones) instead of starting from scratch.
# VAE / UNET / LORA_RANK pick the model configs and CMB-LoRA rank of a from-scratch stage 1 (default tiny-vae,
# tiny-unet, 4); PER_CHANNEL_EXPOSURE=1 gives it one exposure gain per colour channel.
first=()
if [ -n "${INIT_RVAE1:-}" ]; then
  first=(--init "$INIT_RVAE1")
  # Stage 1 may switch earlier weights over to per-channel gains (it retrains the RVAE for them).
  if [ "${PER_CHANNEL_EXPOSURE:-0}" = 1 ]; then first+=(--per-channel-exposure); fi
else
  if [ -n "${VAE:-}" ]; then first+=(--vae "$VAE"); fi
  if [ -n "${UNET:-}" ]; then first+=(--unet "$UNET"); fi
  if [ -n "${LORA_RANK:-}" ]; then first+=(--lora-rank "$LORA_RANK"); fi
  if [ "${PER_CHANNEL_EXPOSURE:-0}" = 1 ]; then first+=(--per-channel-exposure); fi
fi
stage rvae1 "${STEPS_RVAE1:-600}" "${LR_RVAE1:-2e-3}" train-rvae --stage 1 "${first[@]}"
stage rvae2 "${STEPS_RVAE2:-250}" "${LR_RVAE2:-1e-3}" train-rvae --stage 2 --init "$RUNS/rvae1/weights"
stage unet "${STEPS_UNET:-500}" "${LR_UNET:-1e-3}" train --mode multistep --init "$RUNS/rvae2/weights"
stage onestep "${STEPS_ONESTEP:-350}" "${LR_ONESTEP:-5e-4}" train --mode onestep --timestep "${TIMESTEP:-250}" --init "$RUNS/unet/weights"
mkdir -p "$OUT"
cp "$RUNS/onestep/weights/"* "$OUT/"
echo "weights written to $OUT"
