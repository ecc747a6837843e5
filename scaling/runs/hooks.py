"""What a run writes while it trains: metrics.jsonl, status.json, checkpoints and the progress bar,
through the trainer's hook calls (``on_start``, ``on_step``, ``on_eval``, ``maybe_checkpoint``).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from scaling.core import faults, io
from scaling.core.config import RunConfig
from scaling.core.log import get_logger
from scaling.runs import layout
from scaling.runs.record import labels

LOG_EVERY_SECONDS = 15.0  # off a terminal: one progress line per run this often (and the first)


class Progress:
    """A tqdm bar on a terminal; periodic one-line logs otherwise (``runtime.progress``)."""

    def __init__(self, rid: str, mode: str, steps: int, start: int) -> None:
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "log"
        self.mode, self.rid, self.steps = mode, rid, steps
        self.bar = None
        self.t0, self.step0, self.last_log = time.perf_counter(), start, 0.0
        if mode == "bar":
            from tqdm.auto import tqdm

            self.bar = tqdm(
                total=steps,
                initial=start,
                desc=rid[:40],
                unit="step",
                dynamic_ncols=True,
                leave=False,
            )

    def eta_seconds(self, step: int) -> float | None:
        done = step - self.step0
        if done <= 0:
            return None
        return (time.perf_counter() - self.t0) / done * (self.steps - step)

    def update(self, rec: dict[str, Any]) -> None:
        if self.bar is not None:
            self.bar.n = rec["step"]
            self.bar.set_postfix(
                loss=f"{rec['loss']:.3f}", tok_s=f"{rec['tokens_per_second']:.0f}", refresh=False
            )
            self.bar.refresh()
        elif self.mode == "log" and time.perf_counter() - self.last_log > LOG_EVERY_SECONDS:
            self.last_log = time.perf_counter()
            eta = self.eta_seconds(rec["step"])
            get_logger(f"run.{self.rid}").info(
                f"[{self.rid}] step {rec['step']}/{self.steps} loss {rec['loss']:.3f} "
                f"{rec['tokens_per_second']:.0f} tok/s eta {eta or 0:.0f}s"
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class RecordHooks:
    """Writes metrics.jsonl, status.json and checkpoints as the run goes; mirrors to the logger.

    Checkpoints are written atomically every ``runtime.checkpoint_minutes`` and after every
    periodic evaluation, so a killed run resumes from its last one.
    """

    def __init__(self, run: RunConfig, rid: str, run_dir: Path, mirror: Any, lock: Any) -> None:
        self.run, self.rid, self.dir, self.mirror, self.lock = run, rid, run_dir, mirror, lock
        self.progress: Progress | None = None
        self.last_status = 0.0
        self.last_checkpoint = time.perf_counter()
        self.steps = 0
        self.checkpoint_seconds = 0.0
        self.checkpoints = 0
        self.checkpoint_step: int | None = None  # the step of the last checkpoint written

    def status(self, state: str, **extra: Any) -> None:
        st = {
            "state": state,
            "run_id": self.rid,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "updated": time.time(),
            "labels": labels(self.run),
            "checkpoint_step": self.checkpoint_step,  # where a relaunch resumes (status)
            **extra,
        }
        io.atomic_write_json(self.dir / layout.STATUS, st)
        faults.point("hooks.status.written")
        self.lock.refresh()

    def checkpoint(self, trainer: Any) -> None:
        from scaling.train.checkpoint import save_checkpoint

        t0 = time.perf_counter()
        faults.point("hooks.checkpoint.before_save")
        save_checkpoint(trainer, self.dir / layout.CHECKPOINT)
        faults.point("checkpoint.renamed")
        self.last_checkpoint = time.perf_counter()
        self.checkpoint_seconds += self.last_checkpoint - t0
        self.checkpoints += 1
        self.checkpoint_step = int(trainer.step)
        eta = self.progress.eta_seconds(self.checkpoint_step) if self.progress else None
        self.status("running", step=self.checkpoint_step, steps=self.steps, eta_seconds=eta)

    def on_start(self, info: dict[str, Any]) -> None:
        self.steps = info["steps"]
        self.checkpoint_step = info["resumed_at"] or self.checkpoint_step  # resumed: its file
        self.progress = Progress(
            self.rid, self.run.runtime.progress, info["steps"], info["resumed_at"]
        )
        self.status("running", step=info["resumed_at"], steps=info["steps"], started=time.time())

    def on_step(self, rec: dict[str, Any]) -> None:
        io.append_jsonl(self.dir / layout.METRICS, {"kind": "train", **rec})
        faults.point("hooks.metrics.train_appended")
        self.mirror.log(rec, rec["step"])
        if self.progress:
            self.progress.update(rec)
        if time.perf_counter() - self.last_status > 10:
            self.last_status = time.perf_counter()
            eta = self.progress.eta_seconds(rec["step"]) if self.progress else None
            self.status("running", step=rec["step"], steps=self.steps, eta_seconds=eta)

    def on_eval(self, rec: dict[str, Any], trainer: Any) -> None:
        io.append_jsonl(self.dir / layout.METRICS, {"kind": "eval", **rec})
        faults.point("hooks.metrics.eval_appended")
        self.mirror.log(rec, rec["step"])
        if not rec.get("final"):
            self.checkpoint(trainer)

    def maybe_checkpoint(self, trainer: Any) -> None:
        minutes = self.run.runtime.checkpoint_minutes
        if minutes > 0 and time.perf_counter() - self.last_checkpoint > 60 * minutes:
            self.checkpoint(trainer)

    def close(self) -> None:
        if self.progress:
            self.progress.close()


def truncate_metrics(path: Path, step: int) -> None:
    """Keep the records up to the checkpoint's step: a resumed run re-logs what came after. A
    final evaluation is never kept: no checkpoint holds it (one at a run's last step, taken in
    a pack, comes before it), so the resumed run evaluates and logs it again."""
    if not path.exists():
        return
    keep = []
    with open(path) as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:  # a line cut short by the kill
                break
            if rec.get("step", 0) <= step and not rec.get("final"):
                keep.append(json.dumps(rec) + "\n")
    io.atomic_write_text(path, "".join(keep))
