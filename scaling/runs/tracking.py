"""Weights & Biases mirror of the local run record (``logger=wandb``).

The local record stays the source of truth; this only mirrors it. group = sweep name, id and
name = run id (a resumed run continues the same wandb run), config = the resolved run config,
summary = result.json. ``WANDB_MODE`` (or ``logger.mode``) ``offline`` and ``disabled`` are
respected. In ``online`` mode the API host is probed first with a short TCP timeout; when it
cannot be reached the mirror falls back to offline (sync later with ``wandb sync``) instead of
waiting, and every wandb call is guarded so the mirror can never fail or hang a run.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from scaling.core.config import RunConfig

PROBE_SECONDS = 3.0


def wandb_reachable(timeout: float = PROBE_SECONDS) -> bool:
    base = os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")
    url = urlparse(base)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "api.wandb.ai", port), timeout=timeout):
            return True
    except OSError:
        return False


def resolve_mode(requested: str | None) -> str:
    """The mode wandb will run in: explicit config, then $WANDB_MODE, then online if reachable."""
    mode = (requested or os.environ.get("WANDB_MODE") or "online").lower()
    if mode in ("disabled", "offline", "dryrun"):
        return "disabled" if mode == "disabled" else "offline"
    return "online" if wandb_reachable() else "offline"


def flat_summary(record: dict[str, Any]) -> dict[str, Any]:
    from scaling.runs.record import flatten_result

    return {k: v for k, v in flatten_result(record).items() if isinstance(v, int | float | str)}


class WandbMirror:
    """Mirror one run; every method swallows wandb errors after reporting them once."""

    def __init__(self, run: RunConfig, rid: str, run_dir: Path) -> None:
        self.run_obj = None
        mode = resolve_mode(run.logger.mode)
        if mode == "disabled":
            return
        try:
            import wandb

            self.run_obj = wandb.init(
                project=run.logger.project,
                entity=run.logger.entity,
                group=run.name,
                id=rid,
                name=rid,
                resume="allow",
                config=run.to_dict(),
                tags=list(run.logger.tags),
                dir=str(run_dir),
                mode=mode,
                settings=wandb.Settings(init_timeout=60, silent=True),
            )
        except Exception as exc:  # noqa: BLE001 - the mirror must never fail the run
            self._warn("init", exc)

    def _warn(self, what: str, exc: Exception) -> None:
        print(
            f"wandb {what} failed ({type(exc).__name__}: {exc}); local record unaffected",
            file=sys.stderr,
        )
        self.run_obj = None

    def log(self, rec: dict[str, Any], step: int) -> None:
        if self.run_obj is None:
            return
        try:
            self.run_obj.log(
                {k: v for k, v in rec.items() if isinstance(v, int | float)}, step=step
            )
        except Exception as exc:  # noqa: BLE001
            self._warn("log", exc)

    def summary(self, record: dict[str, Any]) -> None:
        if self.run_obj is None:
            return
        try:
            self.run_obj.summary.update(flat_summary(record))
        except Exception as exc:  # noqa: BLE001
            self._warn("summary", exc)

    def finish(self, exit_code: int = 0) -> None:
        if self.run_obj is None:
            return
        try:
            self.run_obj.finish(exit_code=exit_code)
        except Exception as exc:  # noqa: BLE001
            self._warn("finish", exc)
        self.run_obj = None


class NullMirror:
    def log(self, rec: dict[str, Any], step: int) -> None: ...
    def summary(self, rec: dict[str, Any]) -> None: ...
    def finish(self, exit_code: int = 0) -> None: ...


def make_mirror(run: RunConfig, rid: str, run_dir: Path) -> Any:
    if run.logger.kind == "wandb":
        return WandbMirror(run, rid, run_dir)
    return NullMirror()
