"""Training the shipped model's network on each device: steps per second, side by side.

    python -m benchmarks.train_speed [--devices cuda,cpu] [--steps 400]

Runs ``python -m model train`` with the flags of ``make train-default`` (LSTM 384,
embedding 64, dropout 0.45, DropConnect 0.3 through ``torch.func.functional_call``) for
``--steps`` steps on each device in turn, without the n-gram mixture, and reports each
run's training time, steps per second, final validation loss, and the speed of every
device against the last one listed (the CPU by default). A run that fails, or ends
with a loss that is not finite, is reported as such and makes the exit status 1:
``benchmarks/gpu_check.sh`` runs this on a GPU, where the DropConnect path had never
run before.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

# make train-default's recipe; only the step count and the device differ.
TRAIN_DEFAULT_FLAGS = [
    "--corpus", "data/arabic_text.txt", "--recipe", "fit", "--hidden-size", "384",
    "--embed-size", "64", "--dropout", "0.45", "--weight-drop", "0.3", "--time-budget", "0",
    "--val-fraction", "0.05", "--test-fraction", "0.1", "--seed", "1337", "--no-mixture",
]  # fmt: skip


def train_run(device: str, steps: int) -> dict[str, float] | str:
    """The run's figures, or why it failed."""
    if device.startswith("cuda") and not torch.cuda.is_available():
        # model train would fall back to the CPU (one settings file serves both hosts)
        return "no CUDA device visible to this torch build"
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable, "-m", "model", "train", *TRAIN_DEFAULT_FLAGS,
            "--steps", str(steps), "--device", device, "--progress", "jsonl",
            "--out", str(Path(tmp) / "model.pt"),
        ]  # fmt: skip
        proc = subprocess.run(command, capture_output=True, text=True)
    done = [
        json.loads(line)
        for line in proc.stdout.splitlines()
        if line.startswith("{") and '"done"' in line
    ]
    if proc.returncode != 0 or not done:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return f"exit status {proc.returncode}: {last}"
    result = done[-1]
    val = result.get("val_loss")
    if val is None or not math.isfinite(val) or not math.isfinite(result["train_loss"]):
        return f"loss not finite (train {result['train_loss']}, validation {val})"
    return {
        "seconds": float(result["elapsed_s"]),
        "steps": float(result["steps_run"]),
        "val_bits": float(val) / math.log(2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", default="cuda,cpu", help="comma-separated; last = baseline")
    parser.add_argument("--steps", type=int, default=400)
    args = parser.parse_args()
    devices = [d.strip() for d in args.devices.split(",") if d.strip()]
    runs = {device: train_run(device, args.steps) for device in devices}
    baseline = runs[devices[-1]]
    print(f"make train-default's network, {args.steps} steps (no mixture)")
    print(f"{'device':<10}{'seconds':>9}{'steps/s':>9}{'val bits/char':>15}{'speed':>9}")
    failed = False
    for device, run in runs.items():
        if isinstance(run, str):
            failed = True
            print(f"{device:<10} FAILED: {run}")
            continue
        rate = run["steps"] / run["seconds"]
        speed = ""
        if not isinstance(baseline, str):
            speed = f"{rate / (baseline['steps'] / baseline['seconds']):.1f}x"
        print(f"{device:<10}{run['seconds']:>9.1f}{rate:>9.1f}{run['val_bits']:>15.3f}{speed:>9}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
