#!/usr/bin/env bash
# The engine on an NVIDIA GPU: benchmark rows 1-2 on CUDA with CUDA graphs on (as the bot
# serves), torch.cuda.max_memory_allocated(), and a fixed-seed check that 64 concurrent
# texts equal model.sample's on the same device; then the same rows with graphs off, to
# show what the graphs buy; last, the shipped model's network (LSTM 384 with DropConnect,
# make train-default's flags) trained on CUDA against the CPU (benchmarks/train_speed.py).
# Needs a CUDA build of torch.
#
#   benchmarks/gpu_check.sh [extra args for python -m benchmarks.engine]
#   PYTHON=/path/to/python benchmarks/gpu_check.sh --checkpoint checkpoints/model.pt
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python3

"$PYTHON" - <<'PY'
import sys

import torch

if not torch.cuda.is_available():
    print(f"torch {torch.__version__}: no CUDA device visible; this check needs one")
    sys.exit(1)
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.get_device_name()}")
PY

echo "== CUDA graphs on"
"$PYTHON" -m benchmarks.engine --device cuda --rows 1,2 --identity 64 "$@"
echo "== CUDA graphs off (eager step), for comparison"
"$PYTHON" -m benchmarks.engine --device cuda --rows 1,2 --no-cuda-graphs "$@"
echo "== training make train-default's network on CUDA against the CPU"
"$PYTHON" -m benchmarks.train_speed --devices cuda,cpu --steps 400
