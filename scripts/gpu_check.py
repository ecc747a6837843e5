"""The GPU path checked on a real GPU: packed and unpacked runs on CUDA against the CPU run of the
same config, with tokens/s and MFU. Prints JSON; needs nothing but this repository and a GPU.

    python scripts/gpu_check.py [--model s] [--budget 3e11] [--pack 4] [--out DIR]
    python scripts/gpu_check.py --device cpu --model xxs --budget 2e9   # the logic, on a CPU

Runs (each through ``scaling.runs.runner``, as a sweep trains them; records under --out):

- ``cpu``: seed 0 on the CPU, fp32 (the reference every other way is compared with);
- ``solo_fp32`` / ``solo_bf16``: seed 0 alone on the device, fp32 and bf16 autocast;
- ``packed_fp32``: seeds 0..K-1 as one pack on the device (packing needs fp32:
  ``train.pack_runner.packable``), seed 0's curve compared with ``solo_fp32``.

Reported: each way's final held-out loss and its difference from ``cpu`` (fp32 on another
device: float reassociation only, expected below 1e-3 relative; bf16: rounding, expected within
a few 1e-3), the packed-vs-solo maximum loss-curve difference, tokens/s, achieved FLOP/s under
the run's convention and MFU against the device's measured matmul peak (``torch.mm`` of 8192^2
in the way's dtype, best of 5) and, on known GPUs, the datasheet dense peak.
Without CUDA (and no ``--device cpu``) it prints why and exits 0: nothing to check here.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

# Dense (no sparsity) bf16 tensor-core peaks, FLOP/s, from the vendors' datasheets.
DATASHEET_BF16_PEAK = {
    "H100": 989e12,  # NVIDIA H100 SXM datasheet
    "H200": 989e12,  # NVIDIA H200 datasheet (same SM as H100 SXM)
    "A100": 312e12,  # NVIDIA A100 datasheet
    "L4": 121e12,  # NVIDIA L4 datasheet
}


def matmul_peak(device: str, dtype: torch.dtype, n: int = 8192, reps: int = 5) -> float:
    """Measured FLOP/s of an n x n matmul on ``device`` in ``dtype`` (best of ``reps``)."""
    if device == "cpu":
        n = min(n, 1024)
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    best = float("inf")
    for _ in range(reps + 1):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        torch.mm(a, b)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n**3 / best


def _runs(args: argparse.Namespace, device: str, precision: str, seeds: int, out: Path) -> list:
    from scaling.cli.grid import expand

    overrides = [
        f"model={args.model}",
        f"data={args.data}",
        f"budget.flops={args.budget}",
        f"seed={','.join(str(s) for s in range(seeds))}",
        f"runtime.device={device}",
        f"runtime.precision={precision}",
        f"runtime.pack={max(seeds, 1)}",
        f"runtime.out_dir={out}",
        "runtime.progress=none",
    ]
    runs, _ = expand(overrides)
    return runs


def _train(runs: list) -> tuple[list[dict[str, Any]], float]:
    from scaling.runs.runner import execute_pack

    t0 = time.perf_counter()
    records = execute_pack(runs)
    return [r for r in records if r], time.perf_counter() - t0


def _curve(out: Path, run_id: str) -> list[float]:
    path = out / run_id / "metrics.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r["loss"] for r in rows if r.get("kind") == "train"]


def _way(name: str, records: list[dict], wall: float, peak: float, ref: float | None) -> dict:
    rec = records[0]
    flops = sum(r["flops"] for r in records)
    out = {
        "way": name,
        "runs": len(records),
        "loss": rec["loss"],
        "tokens_per_second": sum(r["tokens"] for r in records) / wall,
        "flops_per_second": flops / wall,
        "mfu_measured_peak": flops / wall / peak,
        "wall_seconds": wall,
    }
    if ref is not None:
        out["loss_rel_diff_vs_cpu"] = abs(rec["loss"] - ref) / ref
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="s")
    ap.add_argument("--data", default="frontier")
    ap.add_argument("--budget", type=float, default=3e11)
    ap.add_argument("--pack", type=int, default=4)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--out", help="records go here (default: a temporary directory)")
    args = ap.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(json.dumps({"gpu": None, "why": "no CUDA device: nothing to check here"}))
        return 0
    root = Path(args.out or tempfile.mkdtemp(prefix="gpu_check-"))
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu"
    peaks = {
        "fp32": matmul_peak(args.device, torch.float32),
        "bf16": matmul_peak(args.device, torch.bfloat16),
    }
    cpu_records, cpu_wall = _train(_runs(args, "cpu", "fp32", 1, root / "cpu"))
    ref = cpu_records[0]["loss"]
    report: dict[str, Any] = {"device": name, "measured_peak_flops": peaks, "ways": []}
    report["ways"].append(
        _way("cpu", cpu_records, cpu_wall, matmul_peak("cpu", torch.float32), None)
    )
    for way, precision, seeds in (
        ("solo_fp32", "fp32", 1),
        ("solo_bf16", "bf16", 1),
        ("packed_fp32", "fp32", args.pack),
    ):
        records, wall = _train(_runs(args, args.device, precision, seeds, root / way))
        report["ways"].append(_way(way, records, wall, peaks[precision], ref))
    rid = cpu_records[0]["run_id"]
    solo, packed = _curve(root / "solo_fp32", rid), _curve(root / "packed_fp32", rid)
    report["packed_vs_solo_max_curve_diff"] = max(
        abs(a - b) for a, b in zip(solo, packed, strict=True)
    )
    sheet = next((v for k, v in DATASHEET_BF16_PEAK.items() if k in name), None)
    if sheet:
        bf16 = next(w for w in report["ways"] if w["way"] == "solo_bf16")
        report["solo_bf16_mfu_datasheet"] = bf16["flops_per_second"] / sheet
    report["records"] = str(root)
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
