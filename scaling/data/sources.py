"""Data sources: each turns a ``SourceConfig`` into a stream of documents for a split.

``installed_docs`` is finite (mined once per machine, cached); ``generator`` is as large as the
problem space (documents are de-duplicated by problem id, so a small space runs out and the
stream builder repeats it, as it would any finite pool); ``local`` and ``hf`` read a user's
files or a hub dataset (see ``scaling.data.external``).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from scaling.config import SourceConfig
from scaling.data import installed_docs
from scaling.data.cache import cached_documents
from scaling.data.documents import Document
from scaling.errors import UserError

SPLITS = ("train", "heldout")
_CHUNK = 512


def derive_seed(*parts: object) -> int:
    """A 63-bit seed from any parts, stable across processes (unlike ``hash``)."""
    digest = hashlib.sha256("/".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


@dataclass
class SourceStream:
    """Documents of one source in training order; ``stats`` fills in while it is consumed."""

    name: str
    documents: Iterator[Document]
    provenance: dict[str, Any]
    stats: dict[str, float] = field(default_factory=dict)


def _installed_docs(src: SourceConfig, cache_dir: str | None) -> tuple[list[Document], dict]:
    key = installed_docs.corpus_key(list(src.packages))
    docs, path = cached_documents(
        "installed_docs", key, lambda: installed_docs.mine(list(src.packages)), cache_dir
    )
    content = hashlib.sha256()
    for d in docs:
        content.update(d.doc_id.encode())
        content.update(d.text.encode())
    provenance = {
        "kind": "installed_docs",
        "versions": key,
        "documents": len(docs),
        "bytes": sum(len(d.text.encode()) for d in docs),
        "content_sha256": content.hexdigest(),
        "cache_file": str(path),
    }
    return docs, provenance


def _split_docs(docs: list[Document], split: str) -> list[Document]:
    want = split == "heldout"
    return [d for d in docs if installed_docs.is_heldout(d.doc_id) == want]


def _example_document(gen: Any, ex: Any, form: str) -> Document:
    segments = tuple((text, role) for text, role in gen.segments(ex, form))
    return Document(doc_id=ex.uid, text="".join(t for t, _ in segments), segments=segments)


def _generator_documents(
    src: SourceConfig, split: str, seed: int, stats: dict[str, float]
) -> Iterator[Document]:
    """Problems of the split drawn i.i.d. from the generator, in chunks, without end.

    No de-duplication across chunks: every run sees the generator's own distribution whatever
    its length (de-duplicating would exhaust the small 1-digit space and shift longer runs
    toward harder problems). A finite pool is what ``data.unique_tokens`` is for.
    """
    from scaling.data import generators

    gen = generators.get(src.generator, **dict(src.params))
    corr = src.correction
    use_correction = corr.mode != "raw" or corr.epsilon > 0
    chunk = 0
    while True:
        chunk_seed = derive_seed("generator", src.generator, split, seed, chunk)
        examples = gen.generate(_CHUNK, seed=chunk_seed, split=split)
        chunk += 1
        if use_correction:
            from scaling.data.correction import apply_correction

            result = apply_correction(gen, examples, corr, seed=chunk_seed)
            _accumulate(stats, result.stats)
            examples = result.kept
        for ex in examples:
            yield _example_document(gen, ex, src.form)


def _accumulate(stats: dict[str, float], new: dict[str, Any]) -> None:
    """Sum the additive counters of a correction batch (rates are recomputed from sums)."""
    from scaling.data.correction import SUMMED_STATS

    for k in SUMMED_STATS:
        if k in new:
            stats[k] = stats.get(k, 0.0) + float(new[k])


def open_source(
    name: str, src: SourceConfig, split: str, *, seed: int, cache_dir: str | None = None
) -> SourceStream:
    """The documents of ``src`` for ``split``; training order is shuffled by ``seed``."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}")
    if src.kind == "installed_docs":
        docs, provenance = _installed_docs(src, cache_dir)
        docs = _split_docs(docs, split)
        random.Random(derive_seed("shuffle", name, split, seed)).shuffle(docs)
        if src.max_documents:
            docs = docs[: src.max_documents]
        provenance["split_documents"] = len(docs)
        provenance["split_bytes"] = sum(len(d.text.encode()) for d in docs)
        return SourceStream(name, iter(docs), provenance)
    if src.kind == "generator":
        stats: dict[str, float] = {}
        provenance = {
            "kind": "generator",
            "generator": src.generator,
            "form": src.form,
            "params": dict(src.params),
            "correction": _correction_summary(src),
        }
        return SourceStream(name, _generator_documents(src, split, seed, stats), provenance, stats)
    if src.kind in ("local", "hf"):
        from scaling.data import external

        docs, provenance = external.load(src, cache_dir=cache_dir)
        docs = external.split(docs, split)
        random.Random(derive_seed("shuffle", name, split, seed)).shuffle(docs)
        if src.max_documents:
            docs = docs[: src.max_documents]
        return SourceStream(name, iter(docs), provenance)
    raise UserError(f"source kind {src.kind!r} is not supported")


def available_tokens(src: SourceConfig, cache_dir: str | None = None) -> int | None:
    """Byte-level training tokens a finite source holds (None: unbounded or not yet known)."""
    if src.kind != "installed_docs":
        return None
    from scaling.data.cache import cache_root, key_hash

    key = installed_docs.corpus_key(list(src.packages))
    if not (cache_root(cache_dir) / f"installed_docs-{key_hash(key)}.jsonl.gz").exists():
        return None
    docs, _ = _installed_docs(src, cache_dir)
    return sum(len(d.text.encode()) + 1 for d in _split_docs(docs, "train"))


def _correction_summary(src: SourceConfig) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(src.correction)
