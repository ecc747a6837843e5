"""Python logging for scaling-lab: one ``scaling`` logger tree, configured by the entry points.

Library code logs through ``get_logger(__name__)`` and never configures handlers (a notebook or
another application decides what it sees). The command lines call ``configure_console()``: INFO
and above to stderr, message only, as the lines look today. A run also writes its own file
(``runs.logs.run_logger``: ``<run_dir>/train.log``, with times).

``LineProgress`` is the non-terminal form of a progress bar: a line every ``every_seconds``
(default 10 s) instead of tqdm's carriage returns, which land in log files as one long line.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

ROOT = "scaling"
CONSOLE_FORMAT = "%(message)s"
FILE_FORMAT = "%(asctime)s %(levelname)s %(message)s"


def get_logger(name: str) -> logging.Logger:
    """The logger for module ``name`` under the ``scaling`` tree."""
    return logging.getLogger(name if name.startswith(ROOT) else f"{ROOT}.{name}")


class _Stderr(logging.StreamHandler):
    """A StreamHandler on whatever ``sys.stderr`` is when a record comes (a redirected or
    captured stderr included), not the stream of the moment it was made."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def configure_console(level: int = logging.INFO) -> None:
    """Send the ``scaling`` tree's records to stderr (once per process; idempotent). The tree
    does not propagate to the root logger, so a host's root handlers (Hydra's) do not print
    each line twice."""
    root = logging.getLogger(ROOT)
    root.setLevel(level)
    if not any(isinstance(h, _Stderr) for h in root.handlers):
        handler = _Stderr()
        handler.setFormatter(logging.Formatter(CONSOLE_FORMAT))
        root.addHandler(handler)
    root.propagate = False


class LineProgress:
    """A progress bar for logs: ``update(n)`` logs ``<desc>: done/total (pct)`` at most every
    ``every_seconds``, and ``close()`` logs the last state."""

    def __init__(
        self,
        total: float,
        desc: str,
        unit: str = "it",
        every_seconds: float = 10.0,
        logger: logging.Logger | None = None,
    ) -> None:
        self.total, self.desc, self.unit, self.every = total, desc, unit, every_seconds
        self.n, self.t0, self.last = 0.0, time.perf_counter(), time.perf_counter()
        self.log = logger or get_logger("progress")

    def _line(self) -> str:
        pct = 100 * self.n / self.total if self.total else 100.0
        secs = time.perf_counter() - self.t0
        return f"{self.desc}: {self.n:,.0f}/{self.total:,.0f} {self.unit} ({pct:.0f}%, {secs:.0f}s)"

    def update(self, n: float = 1) -> None:
        self.n += n
        if time.perf_counter() - self.last >= self.every:
            self.last = time.perf_counter()
            self.log.info(self._line())

    def close(self) -> None:
        self.log.info(self._line())


def progress(total: float, desc: str, unit: str = "it", **tqdm_kwargs: Any) -> Any:
    """A tqdm bar on a terminal (stderr a tty), a ``LineProgress`` otherwise."""
    if sys.stderr.isatty():
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, **tqdm_kwargs)
    return LineProgress(total, desc, unit)
