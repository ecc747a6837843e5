"""One trainer per run: a lock file naming its holder (host, pid), taken over only when the
holder is gone.

The lock is created with ``O_CREAT | O_EXCL`` (atomic on local disks and on NFSv3+). A holder
is gone when it ran on this host and its pid no longer exists, or when it ran on another host
and has not refreshed the lock for ``stale_seconds`` (the runner refreshes it with every status
update). A stale lock is moved aside with ``rename`` before it is replaced, so of two processes
that find the same stale lock only one takes it over.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

LOCK_NAME = "lock"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class RunLock:
    """``with RunLock(run_dir) as lock: ...``; ``lock.acquired`` says whether we hold it."""

    def __init__(self, run_dir: Path, stale_seconds: float = 900.0) -> None:
        self.path = Path(run_dir) / LOCK_NAME
        self.stale_seconds = stale_seconds
        self.acquired = False
        self.holder: dict[str, Any] | None = None

    def _me(self) -> dict[str, Any]:
        return {"host": socket.gethostname(), "pid": os.getpid(), "since": time.time()}

    def read(self) -> dict[str, Any] | None:
        try:
            with open(self.path) as fh:
                return json.load(fh)
        except (OSError, json.JSONDecodeError):
            return None

    def holder_gone(self, holder: dict[str, Any] | None) -> bool:
        if holder is None:  # unreadable: a writer died between create and write, or mid-write
            try:
                return time.time() - self.path.stat().st_mtime > 5.0
            except FileNotFoundError:
                return True
        if holder.get("host") == socket.gethostname():
            return not pid_alive(int(holder.get("pid", -1)))
        try:
            return time.time() - self.path.stat().st_mtime > self.stale_seconds
        except FileNotFoundError:
            return True

    def _create(self) -> bool:
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as fh:
            json.dump(self._me(), fh)
        return True

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self._create():
            self.acquired = True
            return True
        self.holder = self.read()
        if not self.holder_gone(self.holder):
            return False
        aside = self.path.with_name(f"{LOCK_NAME}.stale.{os.getpid()}")
        try:
            os.rename(self.path, aside)  # only one contender wins the rename
        except FileNotFoundError:
            pass
        else:
            aside.unlink(missing_ok=True)
        self.acquired = self._create()
        return self.acquired

    def refresh(self) -> None:
        """Heartbeat for holders on other hosts."""
        if self.acquired:
            with contextlib.suppress(OSError):
                os.utime(self.path)

    def release(self) -> None:
        if self.acquired:
            holder = self.read()
            if (
                holder
                and holder.get("pid") == os.getpid()
                and holder.get("host") == socket.gethostname()
            ):
                self.path.unlink(missing_ok=True)
            self.acquired = False

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
