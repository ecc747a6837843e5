"""The analysis cache: a sweep's fits, figures, verdict and expanded grid are recomputed only
when what they are computed from changes.

A cache entry is keyed by digests of its inputs: the bytes of every run record (``result.json``
and ``metrics.jsonl``), the options of the command, and the product's own code and configs (any
edit of ``scaling/`` or ``configs/`` invalidates every entry, so a fix never serves a stale
number). Entries are JSON under ``<sweep>/.scaling/`` (hidden: ``results.load`` skips it), written
atomically; a sweep directory that cannot be written simply goes uncached. Nothing here is a
pickle: an entry holds text and file names, never objects.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from scaling.core import io

CACHE_DIR = ".scaling"
RECORD_FILES = ("result.json", "metrics.jsonl")


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """sha256 of the package's Python sources and shipped configs (file names and bytes)."""
    import scaling

    h = hashlib.sha256()
    root = Path(scaling.__file__).parent
    for base, dirs, files in sorted(os.walk(root, followlinks=True)):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".py", ".yaml", ".json")):
                path = Path(base) / name
                h.update(str(path.relative_to(root)).encode())
                h.update(path.read_bytes())
    return h.hexdigest()


def records_digest(root: str | os.PathLike, run_dirs: list[Path]) -> str:
    """sha256 of the run records under ``run_dirs`` (relative names and bytes)."""
    h = hashlib.sha256()
    base = Path(root)
    for run in sorted(run_dirs):
        for name in RECORD_FILES:
            path = run / name
            if path.exists():
                h.update(str(path.relative_to(base)).encode())
                h.update(path.read_bytes())
    return h.hexdigest()


def key(*parts: Any) -> str:
    """One digest of JSON-able parts (options, digests)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _path(root: str | os.PathLike, name: str) -> Path:
    return Path(root) / CACHE_DIR / f"{name}.json"


def lookup(root: str | os.PathLike, name: str, digest: str) -> dict[str, Any] | None:
    """The entry ``name`` when its key is ``digest`` and every file it lists still exists."""
    path = _path(root, name)
    try:
        entry = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("key") != digest:
        return None
    if not all((Path(root) / f).exists() for f in entry.get("files", [])):
        return None
    return entry


def store(root: str | os.PathLike, name: str, digest: str, **entry: Any) -> None:
    """Write the entry; an unwritable sweep directory leaves it uncached (never an error)."""
    path = _path(root, name)
    try:
        path.parent.mkdir(exist_ok=True)
        io.atomic_write_text(path, json.dumps({"key": digest, **entry}, default=str))
    except OSError:
        pass
