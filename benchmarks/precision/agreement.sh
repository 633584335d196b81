#!/bin/bash
# bf16 against float32 inference on whole phantom volumes: how many voxels get the same label,
# and how much Dice against the truth moves. Uses only the CLI (segment, evaluate).
#
#   benchmarks/precision/agreement.sh [RUN_DIR TEST_DIR]
#
# RUN_DIR is a trained model, TEST_DIR a folder of cases with their segmentations (LiTS layout);
# without them, `liverseg demo` runs first into a temporary directory (about 4 minutes on 2
# cores) and its model and held-out cases are used.
# bf16 needs a CPU with AVX512-BF16 or AMX; elsewhere oneDNN falls back to float32 and the two
# runs agree exactly (the script says which it got).
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product liverseg >/dev/null
B=.build/release/liverseg
model=${1:-}; test=${2:-}
if [ -z "$model" ]; then d=$(mktemp -d); $B demo --out "$d" >/dev/null; model=$d/model; test=$d/data/test; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for p in fp32 bf16; do
  /usr/bin/time -f "$p segment: %e s wall" $B segment "$test" --model "$model" --out "$work/$p" --precision $p >/dev/null
done
echo "== bf16 labels scored against float32 labels (pixel accuracy = share of equal voxels)"
$B evaluate --truth "$work/fp32" --pred "$work/bf16" --csv "$work/agree.csv" | grep -E 'pixel acc|Dice per case' || true
python3 - "$work/agree.csv" <<'PY'
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r['structure'] == 'liver']
eq = sum(float(r['pixel_accuracy_labels']) * (int(r['tp']) + int(r['fp']) + int(r['fn']) + int(r['tn'])) for r in rows)
n = sum(int(r['tp']) + int(r['fp']) + int(r['fn']) + int(r['tn']) for r in rows)
print(f"voxels with equal labels: {eq:.0f} of {n} = {100 * eq / n:.4f} %")
PY
echo "== against the truth"
for p in fp32 bf16; do
  echo "-- $p"; $B evaluate --truth "$test" --pred "$work/$p" | grep -E '^ *(liver|tumor):'
done
