#!/usr/bin/env bash
# The longer recipe of issue #6 (docs/experiments.md, session 19), end to end on phantoms:
#   1. network A learns the liver on the demo's 12 training phantoms (`train --preset long`);
#   2. network B learns the lesions on those and 12 phantoms with 4-8 lesions each, on A as
#      trained in step 1 (`train --liver-from`, B 60 + 16 epochs), with half the lesions at the
#      liver's rim cut open by its training masks (`--tumor-mask-cuts 0.5`, session 21);
#   3. the held-out sets t12, t12b and t12c (12 phantoms each, seeds 1001, 3003 and 5005, never
#      trained on) are segmented with the stored operating point and scored.
# Why two steps: B needs more lesions than the demo's phantoms hold (14 of 1 mL or more), A does
# not need more cases than they give.
# About 20-30 minutes of training on 2 cores, plus a few minutes of phantoms and segmentation.
# Usage: scripts/long_recipe.sh OUT_DIR [SEED]      (a release build: swift build -c release)
# Steps already done in OUT_DIR are kept: phantoms by their phantom.json, runs by their model.json
# (an unfinished run is resumed).
set -euo pipefail
out=${1:?usage: scripts/long_recipe.sh OUT_DIR [SEED]}
seed=${2:-1}
bin=${LIVERSEG:-$(cd "$(dirname "$0")/.." && pwd)/.build/release/liverseg}
[ -x "$bin" ] || { echo "no liverseg at $bin: run swift build -c release first (or set LIVERSEG)" >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)

synth() {   # synth NAME OPTIONS...: phantoms as the demo makes them (256², 40-56 slices)
    [ -f "$out/$1/phantom.json" ] || "$bin" synth --out "$out/$1" --size 256 --slices 40...56 --jobs 2 "${@:2}" > /dev/null
}
synth train12 --cases 12 --seed 1                              # the demo's training phantoms
synth rich12 --cases 12 --first 12 --seed 7007 --tumors 4...8  # 12 more, lesion-rich
for s in t12:1001 t12b:3003 t12c:5005; do synth "${s%:*}" --cases 12 --seed "${s#*:}"; done
mkdir -p "$out/train24"
ln -sf "$out"/train12/*.nii.gz "$out"/rich12/*.nii.gz "$out/train24/"

train() {   # train RUN OPTIONS...: start the run, or resume it when it exists
    if [ -f "$out/$1/model.json" ]; then "$bin" train --resume "$out/$1"; else "$bin" train --out "$out/$1" "${@:2}"; fi
}
train "liver-s$seed" --data "$out/train12" --model cascade --preset long --seed "$seed"
train "recipe-cuts-s$seed" --data "$out/train24" --model cascade --preset long --liver-from "$out/liver-s$seed" \
    --epochs 60 --stage2-epochs 16 --tumor-mask-cuts 0.5 --seed "$seed"

for s in t12 t12b t12c; do
    "$bin" segment "$out/$s" --model "$out/recipe-cuts-s$seed" --out "$out/pred-s$seed/$s" > /dev/null
    echo "== $s (seed $seed)"
    "$bin" evaluate --truth "$out/$s" --pred "$out/pred-s$seed/$s" | grep -E "^ *(liver|tumor|lesions):"
done
