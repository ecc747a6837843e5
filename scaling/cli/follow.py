"""Follow the log files of jobs that run in other processes (submitit's local executor) onto
this console, so a sweep launched with ``hydra/launcher=subprocess`` shows each run's progress
lines as ``parallel`` does. Only bytes written after the follower starts are shown, so a
relaunch into the same sweep does not replay earlier launches' logs."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import IO, Any

# How often the job logs are read: the runs' own progress lines come every 15 s
# (core.log.LineProgress), so a second's delay is below what a reader notices.
POLL_SECONDS = 1.0


class LogFollower:
    """Copy new complete lines of ``folder/pattern`` files to ``out`` every ``POLL_SECONDS``
    from a background thread, until the context exits (then a last read, partial lines too)."""

    def __init__(
        self, folder: str | Path, pattern: str = "*_log.err", out: IO[str] | None = None
    ) -> None:
        self.folder, self.pattern, self.out = Path(folder), pattern, out
        self.offsets: dict[Path, int] = {}
        self.partial: dict[Path, str] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()  # poll() runs on the thread and at exit
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> LogFollower:
        for path in self._files():  # earlier launches' logs: skipped
            self.offsets[path] = path.stat().st_size
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.poll(final=True)

    def _files(self) -> list[Path]:
        return sorted(self.folder.glob(self.pattern)) if self.folder.is_dir() else []

    def _loop(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            self.poll()

    def poll(self, final: bool = False) -> None:
        """Print what each log gained since the last poll (complete lines; all at ``final``)."""
        with self._lock:
            for path in self._files():
                self._read(path, final)

    def _read(self, path: Path, final: bool) -> None:
        try:
            with path.open("rb") as fh:
                fh.seek(self.offsets.get(path, 0))
                data = fh.read()
        except OSError:
            return
        self.offsets[path] = self.offsets.get(path, 0) + len(data)
        lines = (self.partial.pop(path, "") + data.decode(errors="replace")).split("\n")
        tail = lines.pop()
        if tail and not final:
            self.partial[path] = tail  # a line still being written
        elif tail:
            lines.append(tail)
        out = self.out or sys.stderr
        for line in lines:
            if line.strip():  # a bar's carriage returns: its last state
                print(line.rsplit("\r", 1)[-1], file=out, flush=True)
