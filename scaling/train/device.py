"""Where a run trains: CPU or which CUDA device, from ``runtime.device`` and the job index."""

from __future__ import annotations

import contextlib
from typing import Any

import torch

from scaling.core.errors import UserError


def choose_device(requested: str, cuda_devices: int, job_index: int | None) -> str:
    """Where a run trains. ``auto`` is CUDA when there is a GPU, else CPU. With several GPUs,
    job ``k`` of a local multirun takes GPU ``k mod n`` so parallel jobs do not share one."""
    if requested == "cpu":
        return "cpu"
    if requested.startswith("cuda:"):
        index = int(requested.split(":", 1)[1])
        if index >= cuda_devices:
            raise UserError(f"runtime.device={requested}: only {cuda_devices} CUDA device(s)")
        return requested
    if cuda_devices == 0:
        if requested == "cuda":
            raise UserError("runtime.device=cuda: no CUDA device is visible; use cpu or auto")
        return "cpu"
    if cuda_devices == 1 or job_index is None:
        return "cuda:0"
    return f"cuda:{job_index % cuda_devices}"


def resolve_device(device: str, job_index: int | None = None) -> str:
    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return choose_device(device, n, job_index)


def autocast_context(precision: str, device: str) -> Any:
    """bf16 autocast for ``runtime.precision`` (``auto``: on CUDA only); weights, optimizer state
    and the cross-entropy stay fp32 (``Transformer.forward`` upcasts the logits)."""
    cuda = device.startswith("cuda")
    if precision == "bf16" or (precision == "auto" and cuda):
        return torch.autocast("cuda" if cuda else "cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()
