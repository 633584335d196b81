#!/bin/sh
# Runs each fuzz target for SECONDS (default 180) from the fixtures as seed corpus.
# Crashing inputs land in fuzz/.build/crashes/; the summary lines give executions and coverage.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/fuzz/.build
SECS=${1:-180}
FIX=$ROOT/Tests/MedicalImageTests/Fixtures
mkdir -p "$B/corpus-nifti" "$B/corpus-dicom" "$B/crashes"
find "$FIX/nifti" "$FIX/malformed" "$FIX/ours" -type f -exec cp {} "$B/corpus-nifti/" \;
i=0; for f in $(find "$FIX/dicom" -name '*.dcm'); do i=$((i+1)); cp "$f" "$B/corpus-dicom/seed$i.dcm"; done
for t in nifti dicom; do
    echo "== fuzz-$t for $SECS s"
    "$B/fuzz-$t" "$B/corpus-$t" -max_total_time="$SECS" -max_len=4096 -rss_limit_mb=2048 \
        -artifact_prefix="$B/crashes/$t-" -print_final_stats=1 2>&1 | \
        grep -E "^#[0-9]+.*(DONE|pulse)|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb|ERROR|SUMMARY|Test unit written" | tail -8
done
ls "$B/crashes"
