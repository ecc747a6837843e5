"""A content-addressed on-disk cache shared safely by parallel workers.

Entries are keyed by the sha256 of a JSON description of what they depend on. The first
worker to need an entry builds it under an exclusive ``fcntl`` lock and publishes it with an
atomic rename; the others wait on the lock and then read it. A killed builder leaves only a
temporary file, never a partial entry.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from scaling.core.io import atomic_write_bytes, locked
from scaling.core.log import get_logger
from scaling.data.documents import Document


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """``cache_dir``, else $SCALING_CACHE_DIR, else ~/.cache/scaling-lab."""
    root = (
        cache_dir or os.environ.get("SCALING_CACHE_DIR") or Path.home() / ".cache" / "scaling-lab"
    )
    path = Path(root).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def key_hash(key: dict) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:20]


def _write_documents(path: Path, docs: Iterable[Document]) -> None:
    lines = []
    for d in docs:
        rec = {"id": d.doc_id, "text": d.text}
        if d.segments is not None:
            rec["segments"] = [list(s) for s in d.segments]
        lines.append(json.dumps(rec, ensure_ascii=False))
    payload = gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), mtime=0)
    atomic_write_bytes(path, payload)


def _read_documents(path: Path) -> list[Document]:
    docs = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                rec = json.loads(line)
                seg = tuple(tuple(s) for s in rec["segments"]) if "segments" in rec else None
                docs.append(Document(doc_id=rec["id"], text=rec["text"], segments=seg))
    return docs


def cached_documents(
    name: str, key: dict, build: Callable[[], Iterable[Document]], cache_dir: str | None = None
) -> tuple[list[Document], Path]:
    """Documents for ``key``, built once per machine and reused; returns (docs, path)."""
    path = cache_root(cache_dir) / f"{name}-{key_hash(key)}.jsonl.gz"
    if not path.exists():
        with locked(path):
            if not path.exists():
                log = get_logger(__name__)
                log.info(f"building the {name} corpus (once per machine; cached at {path})...")
                t0 = time.perf_counter()
                _write_documents(path, build())
                log.info(f"built the {name} corpus in {time.perf_counter() - t0:.0f}s")
                meta = path.with_name(path.name.replace(".jsonl.gz", ".key.json"))
                atomic_write_bytes(meta, json.dumps(key, indent=1, sort_keys=True).encode())
    return _read_documents(path), path
