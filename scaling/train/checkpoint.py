"""A run's training state on disk: written atomically (``core.io.atomic_write``) so a killed run
resumes from its last complete checkpoint."""

from __future__ import annotations

import io
from typing import IO, Any

import torch

from scaling.core import faults
from scaling.core.io import atomic_write


def save_checkpoint(trainer: Any, path: Any) -> None:
    """Atomic checkpoint (``core.io.atomic_write``): a reader sees the old one or the new one.
    Serialised in memory first: ``torch.save`` reports a full disk as a bare ``RuntimeError``,
    a plain write as the ``OSError`` that ``core.io`` turns into its one-line error."""
    buf = io.BytesIO()
    torch.save(trainer.state_dict(), buf)
    atomic_write(path, lambda fh: _write(fh, buf.getbuffer()))


def _write(fh: IO[bytes], blob: memoryview) -> None:
    fh.write(blob)
    faults.point("checkpoint.tmp_written")


def load_checkpoint(path: Any) -> dict[str, Any]:
    """A checkpoint written by ``save_checkpoint``, unpickled with ``weights_only=True``: only
    tensors and plain containers and scalars load (what ``Trainer.state_dict`` and a pack
    member's state hold), so a file holding any other object raises instead of running code."""
    return torch.load(path, map_location="cpu", weights_only=True)
