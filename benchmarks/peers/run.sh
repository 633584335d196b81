#!/usr/bin/env bash
# Compare `liverseg bench unet` with the same U-Net in Keras/TensorFlow and PyTorch (see README.md).
# Creates the virtualenvs when missing:
#   TORCH_VENV (default /work/venvs/torch; torch from PyPI when created here)
#   PEERS_VENV (default /work/venvs/peers; tensorflow-cpu and keras from PyPI)
# Builds the release liverseg when missing. Extra arguments go to compare.py, e.g.
#   benchmarks/peers/run.sh --configs 256-f32 --rounds 3 --frameworks ours,ours-bf16,keras,pytorch
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
TORCH_VENV="${TORCH_VENV:-/work/venvs/torch}"
PEERS_VENV="${PEERS_VENV:-/work/venvs/peers}"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$PEERS_VENV/bin/python" ] || ! "$PEERS_VENV/bin/python" -c 'import tensorflow, keras' 2>/dev/null; then
    echo "creating $PEERS_VENV (tensorflow-cpu, keras)" >&2
    "$PYTHON" -m venv "$PEERS_VENV"
    "$PEERS_VENV/bin/pip" install -q 'tensorflow-cpu==2.21.*' keras
fi
if [ ! -x "$TORCH_VENV/bin/python" ] || ! "$TORCH_VENV/bin/python" -c 'import torch' 2>/dev/null; then
    echo "creating $TORCH_VENV (torch)" >&2
    "$PYTHON" -m venv "$TORCH_VENV"
    "$TORCH_VENV/bin/pip" install -q torch
fi
LIVERSEG="${LIVERSEG:-$root/.build/release/liverseg}"
if [ ! -x "$LIVERSEG" ]; then
    (cd "$root" && swift build -c release --product liverseg)
fi
cat /proc/loadavg >&2
exec "$PEERS_VENV/bin/python" "$here/compare.py" --liverseg "$LIVERSEG" \
    --torch-python "$TORCH_VENV/bin/python" --keras-python "$PEERS_VENV/bin/python" "$@"
