#!/bin/sh
# Phantom benchmark: CPU seconds per case (one thread) and cases/second, plus determinism of
# two runs of the same seed. Usage: benchmarks/phantom/bench.sh [LIVERSEG_BINARY]
set -eu
BIN=${1:-.build/release/liverseg}
OUT=${TMPDIR:-/tmp}/phantom-bench
rm -rf "$OUT"
echo "== 512x512x100, 3 cases (release, one core)"
/usr/bin/time -f "cpu %U s user, %e s wall" "$BIN" synth --out "$OUT/a" --cases 3 --seed 1 --size 512 --slices 100
echo "== 256x256x40...80 (demo size), 6 cases"
/usr/bin/time -f "cpu %U s user, %e s wall" "$BIN" synth --out "$OUT/b" --cases 6 --seed 2 --size 256 --slices 40...80
echo "== determinism: case 2 of seed 1 regenerated alone"
"$BIN" synth --out "$OUT/c" --cases 1 --first 2 --seed 1 --size 512 --slices 100 > /dev/null
cmp "$OUT/a/volume-2.nii.gz" "$OUT/c/volume-2.nii.gz" && cmp "$OUT/a/segmentation-2.nii.gz" "$OUT/c/segmentation-2.nii.gz" \
  && echo "byte-identical"
