#!/usr/bin/env bash
# The engine on a real GPU in one short run (at most ~8 minutes): profiles of a tiny-UNet training step (captured and
# op by op), matmul at 1024–4096 and the conv2d families against tfjs-webgpu, and the one-step 512² restore of the
# shipped weights. Writes bench/results/gpu-check-<adapter>-*.json and prints a summary. Meant for a borrowed GPU
# machine (the `device` tool), where every minute counts: each part has its own time limit, and a part that runs
# out of time is reported and skipped, not fatal.
#   bash bench/gpu-check.sh            (npm ci first on a fresh machine)
#   PARTS="train matmul" bash bench/gpu-check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
RUN="node scripts/run-ts.mjs"
ADAPTER=$($RUN bench/adapter-slug.ts 2>/dev/null | tail -n 1)
OUT="bench/results"
mkdir -p "$OUT"
PARTS="${PARTS:-train matmul conv2d restore}"
echo "gpu-check on ${ADAPTER}: ${PARTS}"
status=0
part() { # name seconds command...
  local name=$1 limit=$2; shift 2
  local t0=$SECONDS
  if timeout "$limit" "$@"; then echo "== $name: done in $((SECONDS - t0)) s"
  else local rc=$?; echo "== $name: FAILED or out of time (exit $rc after $((SECONDS - t0)) s)"; status=1; fi
}
for p in $PARTS; do
  case $p in
    train)
      part "train-step (captured)" 90 $RUN src/cli/main.ts profile train-step --config tiny-unet --top 12 --json "$OUT/gpu-check-$ADAPTER-train-step.json"
      part "train-step (eager)" 90 $RUN src/cli/main.ts profile train-step --config tiny-unet --eager --top 12 --json "$OUT/gpu-check-$ADAPTER-train-step-eager.json"
      part "train steps/s" 90 $RUN bench/train-steps.ts --steps 20 --warmup 3 --capture ;;
    matmul)
      part matmul 150 npm run -s bench -- matmul --sizes 1024,2048,4096 --impls rddm,tfjs-webgpu --reps 5 --json "$OUT/gpu-check-$ADAPTER-matmul.json" ;;
    conv2d)
      part conv2d 120 npm run -s bench -- conv2d --impls rddm,tfjs-webgpu --json "$OUT/gpu-check-$ADAPTER-conv2d.json" ;;
    restore)
      part "restore 512²" 90 $RUN src/cli/main.ts profile restore --size 512 --weights weights/rddm-tiny --top 12 --json "$OUT/gpu-check-$ADAPTER-restore-512.json" ;;
    *) echo "unknown part '$p' (train, matmul, conv2d, restore)"; status=2 ;;
  esac
done
exit $status
