"""Tokenized documents on disk as NumPy memmaps, prepared once per content hash.

A *shard* holds the tokenized documents of one source split under one tokenizer:

- ``tokens.npy``: uint16 (uint32 for vocabularies over 65,536), every document followed by EOS;
- ``roles.npy``: uint8 role of each token (prompt, trace, answer, text; 255 for EOS), so any
  ``data.loss_mask`` is derived when the shard is read and one shard serves all of them;
- ``offsets.npy``: int64 document boundaries (n_docs + 1); ``nbytes.npy``: UTF-8 bytes per
  document (bits per byte and the pool size in tokens need them);
- ``meta.json``: the key, counts, and for generated sources the document count and the
  additive correction counters of every chunk.

Keys: a finite source (installed docs, a local corpus, a Hugging Face dataset) is keyed by the
sha256 of its documents' content, the split and the tokenizer's fingerprint; a generated source
(``kind=generator``) by its generator, parameters, rendering, correction pipeline, split, seed,
tokenizer and the source code of the generator and correction modules (so editing a generator
never serves stale data). A finite shard is written in full once. A generated source is
unbounded: its shard caches the prefix of chunks runs have needed so far and grows when a later
run needs more; every chunk is deterministic in its index, so a run reads exactly the bytes it
would have generated.

Parallel workers share shards safely: builds and extensions run under the cache's exclusive
``fcntl`` lock, are written into a temporary directory and published by an atomic rename plus
an atomically replaced ``current`` pointer; readers open the arrays (``np.load(mmap_mode="r")``)
under the same lock, so a killed builder leaves no partial shard and the OS page cache shares
one copy of the data between the workers of a node.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from scaling.core import faults
from scaling.core.errors import UserError
from scaling.core.io import atomic_write_bytes, locked, temporary_path
from scaling.core.log import progress
from scaling.data.cache import cache_root, key_hash
from scaling.data.documents import Document

FORMAT = 1
ROLES = ("prompt", "trace", "answer", "text")
ROLE_CODE = {r: i for i, r in enumerate(ROLES)}
EOS_ROLE = 255
# A progress bar is shown for sources of at least PROGRESS_MIN_DOCS documents and for generated
# sources extended by at least PROGRESS_MIN_TOKENS tokens: the sizes that take seconds. Measured
# on 2 shared CPU cores: BPE-1024 encoding of 2,000 installed-docs documents took 8.5 s (the
# byte tokenizer 0.06 s); generating and byte-encoding 2,000,000 arithmetic tokens took 1.8 s.
PROGRESS_MIN_DOCS = 2000
PROGRESS_MIN_TOKENS = 2_000_000

# roles that count toward the loss under each data.loss_mask setting; "text" is plain prose
SUPERVISED = {
    "all": {"prompt", "trace", "answer", "text"},
    "trace_and_answer": {"trace", "answer", "text"},
    "answer": {"answer", "text"},
}


def supervised_table(loss_mask: str) -> np.ndarray:
    """Boolean lookup ``table[role_code]``: is a token of that role a supervised target."""
    table = np.zeros(256, dtype=bool)
    for role in SUPERVISED[loss_mask]:
        table[ROLE_CODE[role]] = True
    table[EOS_ROLE] = True
    return table


def token_dtype(vocab_size: int) -> type:
    return np.uint16 if vocab_size <= 1 << 16 else np.uint32


def encode_roles(doc: Document, tok: Any) -> tuple[np.ndarray, np.ndarray]:
    """Tokens of ``doc`` followed by EOS, and the role code of every token."""
    dtype = token_dtype(tok.vocab_size)
    toks, roles = [], []
    for text, role in doc.parts():
        ids = tok.encode(text)
        toks.append(np.asarray(ids, dtype=dtype))
        roles.append(np.full(len(ids), ROLE_CODE[role], dtype=np.uint8))
    toks.append(np.array([tok.eos_id], dtype=dtype))
    roles.append(np.array([EOS_ROLE], dtype=np.uint8))
    return np.concatenate(toks), np.concatenate(roles)


@dataclass
class Shard:
    """Tokenized documents of one source split (arrays are read-only memmaps when cached)."""

    tokens: np.ndarray
    roles: np.ndarray
    offsets: np.ndarray
    nbytes: np.ndarray
    meta: dict[str, Any]
    path: Path | None = None

    @property
    def n_docs(self) -> int:
        return len(self.offsets) - 1

    def doc_tokens(self, i: int) -> np.ndarray:
        return self.tokens[self.offsets[i] : self.offsets[i + 1]]

    def doc_roles(self, i: int) -> np.ndarray:
        return self.roles[self.offsets[i] : self.offsets[i + 1]]


def encode_shard(
    docs: Iterable[Document], tok: Any, *, label: str = "", total: int | None = None
) -> Shard:
    """Tokenize ``docs`` into one in-memory shard (a progress bar for large sources)."""
    bar = None
    if total is not None and total >= PROGRESS_MIN_DOCS:
        bar = progress(total, f"tokenizing {label}", "doc", mininterval=1.0, leave=False)
    toks, roles, lengths, nbytes = [], [], [], []
    for doc in docs:
        t, r = encode_roles(doc, tok)
        toks.append(t)
        roles.append(r)
        lengths.append(len(t))
        nbytes.append(len(doc.text.encode()))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    dtype = token_dtype(tok.vocab_size)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return Shard(
        tokens=np.concatenate(toks) if toks else np.zeros(0, dtype=dtype),
        roles=np.concatenate(roles) if roles else np.zeros(0, dtype=np.uint8),
        offsets=offsets,
        nbytes=np.asarray(nbytes, dtype=np.int64),
        meta={},
    )


# ---- on disk ---------------------------------------------------------------------------------

_ARRAYS = ("tokens", "roles", "offsets", "nbytes")


def _shard_dir(key: dict[str, Any], cache_dir: str | None) -> Path:
    root = cache_root(cache_dir) / "tokens"
    root.mkdir(parents=True, exist_ok=True)
    return root / f"{key.get('name', 'shard')}-{key_hash(key)}"


def _damaged(path: Path, base: Path, what: str) -> UserError:
    """The error for a damaged file of a published shard: the cache is derived data, so
    deleting the shard's directory makes the next run rebuild it."""
    return UserError(
        f"{path}: {what}; the token cache is damaged: delete {base} (and {base}.lock) and the "
        "next run rebuilds it"
    )


def _generation(base: Path) -> Path | None:
    """The generation ``current`` points at (lock held), None when none is published."""
    pointer = base / "current"
    if not pointer.exists():
        return None
    try:
        name = pointer.read_text().strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise _damaged(pointer, base, f"cannot be read ({exc})") from None
    if not name or "/" in name or not (base / name).is_dir():
        raise _damaged(pointer, base, f"points at {name!r}, which is not a shard generation")
    return base / name


def _load_array(gen: Path, name: str, base: Path) -> np.ndarray:
    path = gen / f"{name}.npy"
    try:
        return np.load(path, mmap_mode="r")
    except (OSError, ValueError, EOFError) as exc:
        raise _damaged(path, base, f"cannot be loaded ({exc})") from None


def _check_lengths(shard: Shard, base: Path) -> None:
    """The arrays of one shard agree: offsets rise from 0 to len(tokens), roles match tokens,
    one byte count per document."""
    gen = shard.path or base
    off = shard.offsets
    ok = len(off) >= 1 and off[0] == 0 and off[-1] == len(shard.tokens)
    if not ok or (len(off) > 1 and bool(np.any(np.diff(off) < 0))):
        raise _damaged(gen / "offsets.npy", base, "does not match tokens.npy")
    if len(shard.roles) != len(shard.tokens):
        raise _damaged(gen / "roles.npy", base, "does not match tokens.npy")
    if len(shard.nbytes) != shard.n_docs:
        raise _damaged(
            gen / "nbytes.npy",
            base,
            f"holds {len(shard.nbytes)} counts, not one per document ({shard.n_docs})",
        )


def _read(base: Path) -> Shard | None:
    """The published shard under ``base`` (call with its lock held), or None; a damaged one
    (a truncated array, a pointer to nothing, unreadable meta) is a ``UserError`` naming the
    file and how to rebuild it."""
    gen = _generation(base)
    if gen is None:
        return None
    try:
        meta = json.loads((gen / "meta.json").read_text())
    except (OSError, ValueError) as exc:
        raise _damaged(gen / "meta.json", base, f"cannot be read ({exc})") from None
    arrays = {a: _load_array(gen, a, base) for a in _ARRAYS}
    shard = Shard(**arrays, meta=meta, path=gen)
    _check_lengths(shard, base)
    return shard


def _publish(base: Path, shard: Shard) -> Shard:
    """Write ``shard`` as a new generation of ``base`` and point ``current`` at it (lock held)."""
    base.mkdir(parents=True, exist_ok=True)
    name = f"g{shard.n_docs}"
    tmp = temporary_path(base / name)  # a directory, renamed into place whole
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for a in _ARRAYS:
        np.save(tmp / f"{a}.npy", np.ascontiguousarray(getattr(shard, a)))
    (tmp / "meta.json").write_text(json.dumps(shard.meta, indent=1, sort_keys=True))
    faults.point("token_cache.shard_written")
    final = base / name
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    faults.point("token_cache.shard_renamed")
    old = (base / "current").read_text().strip() if (base / "current").exists() else None
    atomic_write_bytes(base / "current", name.encode())
    faults.point("token_cache.pointer_written")
    if old and old != name:  # readers that opened it keep their mapping (POSIX unlink)
        shutil.rmtree(base / old, ignore_errors=True)
    for stale in base.glob(".*.tmp"):  # left by a killed builder
        shutil.rmtree(stale, ignore_errors=True)
    out = _read(base)
    assert out is not None
    return out


def finite_shard(
    key: dict[str, Any],
    docs: list[Document],
    tok: Any,
    *,
    label: str,
    cache_dir: str | None = None,
) -> Shard:
    """The shard of ``docs`` (a whole source split) under ``key``, built once and reused."""
    base = _shard_dir(key, cache_dir)
    with locked(base):
        shard = _read(base)
        if shard is None:
            shard = encode_shard(docs, tok, label=label, total=len(docs))
            shard.meta = {
                "key": key,
                "format": FORMAT,
                "documents": len(docs),
                "tokens": int(shard.offsets[-1]),
            }
            shard = _publish(base, shard)
    return shard


def generated_shard(
    key: dict[str, Any],
    make_chunk: Callable[[int], tuple[list[Document], dict[str, float]]],
    tok: Any,
    min_tokens: int,
    *,
    label: str,
    cache_dir: str | None = None,
) -> Shard:
    """The cached prefix of a generated source holding at least ``min_tokens`` tokens.

    ``make_chunk(i)`` returns chunk ``i``'s documents and its additive counters; the shard's
    meta lists, per chunk, the cumulative document count (``chunk_docs``) and the counters
    (``chunk_stats``), so a run can sum the counters of exactly the chunks it consumed.
    """
    base = _shard_dir(key, cache_dir)
    with locked(base):
        shard = _read(base)
        have = int(shard.offsets[-1]) if shard is not None else 0
        if shard is not None and have >= min_tokens:
            return shard
        meta = (
            dict(shard.meta)
            if shard is not None
            else {"key": key, "format": FORMAT, "chunk_docs": [], "chunk_stats": []}
        )
        parts = [shard] if shard is not None else []
        n = have
        bar = None
        if min_tokens - have >= PROGRESS_MIN_TOKENS:
            bar = progress(
                min_tokens - have,
                f"generating {label}",
                "tok",
                unit_scale=True,
                mininterval=1.0,
                leave=False,
            )
        while n < min_tokens:
            docs, stats = make_chunk(len(meta["chunk_docs"]))
            part = encode_shard(docs, tok)
            parts.append(part)
            n += int(part.offsets[-1])
            if bar is not None:
                bar.update(min(int(part.offsets[-1]), bar.total - bar.n))
            prev = meta["chunk_docs"][-1] if meta["chunk_docs"] else 0
            meta["chunk_docs"] = [*meta["chunk_docs"], prev + part.n_docs]
            meta["chunk_stats"] = [*meta["chunk_stats"], stats]
        if bar is not None:
            bar.close()
        merged = _concat(parts)
        meta["documents"], meta["tokens"] = merged.n_docs, int(merged.offsets[-1])
        merged.meta = meta
        return _publish(base, merged)


def _concat(parts: list[Shard]) -> Shard:
    offsets = [np.zeros(1, dtype=np.int64)]
    start = 0
    for p in parts:
        offsets.append(np.asarray(p.offsets[1:], dtype=np.int64) + start)
        start += int(p.offsets[-1])
    return Shard(
        tokens=np.concatenate([np.asarray(p.tokens) for p in parts]),
        roles=np.concatenate([np.asarray(p.roles) for p in parts]),
        offsets=np.concatenate(offsets),
        nbytes=np.concatenate([np.asarray(p.nbytes) for p in parts]),
        meta={},
    )
