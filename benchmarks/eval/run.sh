#!/bin/sh
# Evaluation engine timings: all metrics on a 512×512×500 label pair, and the restricted AUC
# over 100 M probabilities. Release build; prints wall and CPU seconds (CPU time is the
# honest number on a shared machine: an idle 2-core one needs about max(CPU/2, serial part)).
set -e
cd "$(dirname "$0")/../.."
swift build -c release --product liverseg
exec .build/release/liverseg bench eval "$@"
