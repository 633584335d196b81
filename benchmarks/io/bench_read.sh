#!/bin/sh
# Reading a 512×512×500 int16 .nii.gz: LiverSeg vs `gzip -dc` of the same file, and peak memory
# against the decoded Float32 volume (512·512·500·4 bytes = 524 MB).
#   benchmarks/io/bench_read.sh [PYTHON_WITH_NIBABEL] [SLICES]
# Needs a release build: swift build -c release --product liverseg
set -eu
PY=${1:-/work/venvs/io/bin/python}
NZ=${2:-500}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${LIVERSEG:-$ROOT/.build/release/liverseg}
DIR=${TMPDIR:-/tmp}/liverseg-io-bench
FILE=$DIR/ct512x512x$NZ.nii.gz
mkdir -p "$DIR"
[ -f "$FILE" ] || "$PY" "$ROOT/benchmarks/io/make_ct.py" "$FILE" "$NZ" >/dev/null
[ -x "$BIN" ] || { echo "build first: swift build -c release --product liverseg" >&2; exit 1; }

best() { # best wall time (s) of 3 runs of "$@", output discarded
    b=""
    for _ in 1 2 3; do
        t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N)
        t=$(echo "$t1 - $t0" | bc -l)
        if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
    done
    echo "$b"
}
gz=$(best sh -c "gzip -dc '$FILE' > /dev/null")
ours=$(best "$BIN" info "$FILE" --json)
rss=$( { /usr/bin/time -f %M "$BIN" info "$FILE" --json >/dev/null; } 2>&1 | tail -1)
floatmb=$(echo "512*512*$NZ*4/1000000" | bc -l)
printf 'file            %s (%s MB compressed)\n' "$FILE" "$(du -m "$FILE" | cut -f1)"
printf 'gzip -dc        %.3f s\n' "$gz"
printf 'liverseg info   %.3f s  (%.2f× gzip -dc; target ≤ 1.5×)\n' "$ours" "$(echo "$ours / $gz" | bc -l)"
printf 'peak RSS        %.0f MB (%.2f× the %.0f MB Float32 volume; target ≤ 1.3×)\n' \
    "$(echo "$rss * 1024 / 1000000" | bc -l)" "$(echo "$rss * 1024 / 1000000 / $floatmb" | bc -l)" "$floatmb"
