"""File I/O every layer shares: the one atomic write, JSON conversion, JSONL appends, file locks.

An atomic write goes to ``.<name>.<pid>.tmp`` beside the target, is fsynced, then renamed over
it (``os.replace`` is atomic on POSIX), so a reader sees the old file or the new one, never a
partial one; a killed writer leaves only its temporary, which the next lock holder deletes
(``runs.runner.remove_stale_temporaries``, ``data.token_cache``). No torch, no Hydra.

A write the disk refuses (full, over quota or the file-size limit, read-only, no permission)
raises ``OutputNotWritable``: the process stops with one line naming the path and what to do,
rather than failing run after run; the files already written stay as they were.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import json
import math
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

from scaling.core import faults

# errnos of a disk that refuses a write, and what to do about each kind
FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
READ_ONLY = {errno.EROFS, errno.EACCES, errno.EPERM}


class OutputNotWritable(SystemExit):
    """A write the disk refused: the process exits with one line (``error: <path>: cannot
    write (<reason>); <what to do>``, status 1). A ``SystemExit`` so that the sweep stops at
    once: the runner's and the pack's ``except Exception`` (which fail one run and go on) let
    it through, the claimed runs are released, finished runs keep their files and the run it
    interrupted resumes from its last checkpoint when the sweep is launched again."""

    def __init__(self, message: str) -> None:
        super().__init__(f"error: {message}")
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:  # a worker process's error re-raised by joblib
        return type(self), (self.message,)


def not_writable(path: str | os.PathLike, exc: OSError) -> OutputNotWritable:
    """The one-line error for ``exc``, a write to ``path`` refused by the disk."""
    if exc.errno in READ_ONLY:
        folder = Path(path) if Path(path).is_dir() else Path(path).parent
        fix = f"make {folder} writable or point the output elsewhere"
    else:
        fix = "free space on its disk (or raise ulimit -f) or point the output elsewhere"
    return OutputNotWritable(
        f"{path}: cannot write ({os.strerror(exc.errno or 0)}); {fix} (runtime.out_dir, "
        "SCALING_CACHE_DIR), then relaunch: finished runs are kept and interrupted ones resume "
        "from their last checkpoint"
    )


@contextlib.contextmanager
def writing(path: str | os.PathLike) -> Iterator[None]:
    """Turn the disk's refusal of a write to ``path`` (``FULL``, ``READ_ONLY``) into
    ``OutputNotWritable``; other errors pass unchanged."""
    try:
        yield
    except OSError as exc:
        if exc.errno in FULL | READ_ONLY:
            raise not_writable(path, exc) from exc
        raise


def check_writable(directory: str | os.PathLike) -> None:
    """``OutputNotWritable`` unless a file can be created in ``directory`` (made if missing)."""
    d = Path(directory)
    probe = temporary_path(d / ".write-probe")
    with writing(d):
        d.mkdir(parents=True, exist_ok=True)
        probe.touch()
        probe.unlink()


def temporary_path(path: Path) -> Path:
    """Where an atomic write of ``path`` is staged (a dot-file, so sweeps and scans skip it)."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], Any]) -> None:
    """Call ``write(fh)`` on a temporary binary file, fsync it, rename it over ``path``."""
    path = Path(path)
    tmp = temporary_path(path)
    try:
        with writing(path):
            with open(tmp, "wb") as fh:
                write(fh)
                fh.flush()
                os.fsync(fh.fileno())
            faults.point("io.atomic_write.tmp_written")
            os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    faults.point("io.atomic_write.renamed")


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    atomic_write(path, lambda fh: fh.write(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    """Indented, key-sorted JSON with a trailing newline, written atomically."""
    text = json.dumps(obj, indent=1, sort_keys=True, default=json_default) + "\n"
    atomic_write_text(path, text)


def append_jsonl(path: str | os.PathLike, record: dict[str, Any]) -> None:
    """One JSON line appended (one writer per file: the run's lock holder). A kill can leave
    the last line cut short; its readers skip such a line (``runs.hooks.truncate_metrics``)."""
    line = json.dumps(record, default=json_default) + "\n"
    half = len(line) // 2
    with writing(path), open(path, "a") as fh:
        fh.write(line[:half])
        fh.flush()
        faults.point("io.append_jsonl.half_line")
        fh.write(line[half:])


def read_json(path: str | os.PathLike) -> dict[str, Any] | None:
    """The parsed file, or None when it is missing or not (yet) valid JSON."""
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, json.JSONDecodeError):
        return None


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Exclusive inter-process ``fcntl`` lock on ``path``.lock for the duration of the block."""
    lock_path = path.with_name(path.name + ".lock")
    with writing(lock_path):
        fh = open(lock_path, "a+")  # noqa: SIM115 - the lock is held for the caller's block
    with fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def json_default(obj: Any) -> Any:
    """``json.dump``'s hook for what it cannot write itself: numpy scalars and paths."""
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def jsonable(obj: Any, *, drop_private: bool = False) -> Any:
    """Plain JSON types from numbers, arrays, tuples, dicts, dataclasses and anything with a
    ``to_dict`` (NaN/inf -> None; the package's one converter of typed results to JSON).
    ``drop_private`` leaves out mapping keys starting with "_" (working values kept next to
    results)."""

    def conv(x: Any) -> Any:
        return jsonable(x, drop_private=drop_private)

    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return conv(obj.tolist())
    if hasattr(obj, "to_dict"):
        return conv(obj.to_dict())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: conv(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {
            str(k): conv(v) for k, v in obj.items() if not (drop_private and str(k).startswith("_"))
        }
    if isinstance(obj, list | tuple):
        return [conv(v) for v in obj]
    return str(obj)
