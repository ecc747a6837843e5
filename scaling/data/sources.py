"""Data sources: each turns a ``SourceConfig`` into a stream of documents for a split.

``installed_docs`` is finite (mined once per machine, cached); ``generator`` is as large as the
problem space (documents are de-duplicated by problem id, so a small space runs out and the
stream builder repeats it, as it would any finite pool); ``local`` and ``hf`` read a user's
files or a hub dataset (see ``scaling.data.external``).
"""

from __future__ import annotations

import hashlib
import random
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scaling.core.config import SourceConfig
from scaling.core.errors import UserError
from scaling.data import installed_docs
from scaling.data.cache import cached_documents
from scaling.data.documents import Document

SPLITS = ("train", "heldout")
# Examples per generated chunk (the unit of seeding and of token-cache growth). Measured with
# ``generate(512, seed=0)`` for every generator: 10-30 ms and 21-83 KB of trace text per chunk,
# so a run over-generates by under 0.1 s and per-chunk bookkeeping stays small.
_CHUNK = 512


def derive_seed(*parts: object) -> int:
    """A 63-bit seed from any parts, stable across processes (unlike ``hash``)."""
    digest = hashlib.sha256("/".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


@dataclass
class SourceStream:
    """Documents of one source in training order; ``stats`` fills in while it is consumed.

    For the token cache (``scaling.data.token_cache``): a finite source also gives its split's
    documents in canonical order (``split_docs``) and the run's order over them (``order``,
    indices; ``documents`` is ``split_docs[i] for i in order``); a generated source gives
    ``make_chunk(i) -> (documents, counters)`` and the ``cache_key`` of its chunk sequence.
    """

    name: str
    documents: Iterator[Document]
    provenance: dict[str, Any]
    stats: dict[str, float] = field(default_factory=dict)
    split_docs: list[Document] | None = None
    order: list[int] | None = None
    make_chunk: Callable[[int], tuple[list[Document], dict[str, float]]] | None = None
    cache_key: dict[str, Any] | None = None
    split: str = "train"


def _run_order(n: int, name: str, split: str, seed: int, max_documents: int | None) -> list[int]:
    """The run's document order: a seeded shuffle of the split (the same permutation
    ``random.shuffle`` applies to a list of ``n`` documents), cut to ``max_documents``."""
    order = list(range(n))
    random.Random(derive_seed("shuffle", name, split, seed)).shuffle(order)
    return order[:max_documents] if max_documents else order


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


def _generator_chunk_maker(
    src: SourceConfig, split: str, seed: int
) -> Callable[[int], tuple[list[Document], dict[str, float]]]:
    """``make_chunk(i)``: chunk ``i`` of the split's problems (after the correction pipeline,
    if any) as documents, and the chunk's additive correction counters."""
    from scaling.data import generators

    gen = generators.get(src.generator, **dict(src.params))
    corr = src.correction
    use_correction = corr.mode != "raw" or corr.epsilon > 0

    def make_chunk(chunk: int) -> tuple[list[Document], dict[str, float]]:
        chunk_seed = derive_seed("generator", src.generator, split, seed, chunk)
        examples = gen.generate(_CHUNK, seed=chunk_seed, split=split)
        stats: dict[str, float] = {}
        if use_correction:
            from scaling.data.correction import apply_correction

            result = apply_correction(gen, examples, corr, seed=chunk_seed)
            _accumulate(stats, result.stats)
            examples = result.kept
        return [_example_document(gen, ex, src.form) for ex in examples], stats

    return make_chunk


def _generator_documents(
    make_chunk: Callable[[int], tuple[list[Document], dict[str, float]]],
    stats: dict[str, float],
) -> Iterator[Document]:
    """Problems of the split drawn i.i.d. from the generator, in chunks, without end.

    No de-duplication across chunks: every run sees the generator's own distribution whatever
    its length (de-duplicating would exhaust the small 1-digit space and shift longer runs
    toward harder problems). A finite pool is what ``data.unique_tokens`` is for.
    """
    chunk = 0
    while True:
        docs, new = make_chunk(chunk)
        chunk += 1
        _accumulate(stats, new)
        yield from docs


def generator_code_sha256(name: str) -> str:
    """sha256 of the source files that decide a generated source's bytes: the generator's
    module (for ``retry``, which wraps any base generator, every base generator's too), the
    generators' shared contract (``base``, ``example``, ``splits``, ``completion``), the
    correction pipeline and this module (cache keys include it)."""
    import inspect

    from scaling.data import correction, generators
    from scaling.data.generators import base, completion, example, splits
    from scaling.data.generators.catalog import BASE_GENERATORS

    digest = hashlib.sha256()
    cls = type(generators.get(name))
    wrapped = list(BASE_GENERATORS.values()) if cls in (generators.Retry, generators.Mix) else []
    gen_modules = [inspect.getmodule(c) for c in (cls, *wrapped)]
    modules = (*gen_modules, base, example, splits, completion, correction, sys.modules[__name__])
    for module in modules:
        digest.update(Path(inspect.getfile(module)).read_bytes())
    return digest.hexdigest()


def _accumulate(stats: dict[str, float], new: dict[str, Any]) -> None:
    """Sum the additive counters of a correction batch (rates are recomputed from sums)."""
    from scaling.data.correction import SUMMED_STATS

    for k in SUMMED_STATS:
        if k in new:
            stats[k] = stats.get(k, 0.0) + float(new[k])


def check_source(src: SourceConfig, cache_dir: str | None, where: str) -> None:
    """Refuse, before a run writes anything, a source that ``open_source`` would refuse once
    training starts: an unknown generator or parameter, a missing local path, an offline hub
    id (one-line UserError naming ``where``, e.g. ``data.mixture.frontier``)."""
    if src.kind == "generator":
        from scaling.data import generators

        try:
            generators.get(src.generator, **dict(src.params))
        except UserError as exc:
            raise UserError(f"{where}.generator={src.generator!r}: {exc}") from None
    elif src.kind in ("local", "hf"):
        from scaling.data import external

        external.check(src, cache_dir, where=where)


def open_source(
    name: str, src: SourceConfig, split: str, *, seed: int, cache_dir: str | None = None
) -> SourceStream:
    """The documents of ``src`` for ``split``; training order is shuffled by ``seed``."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}")
    if src.kind == "installed_docs":
        docs, provenance = _installed_docs(src, cache_dir)
        split_docs = _split_docs(docs, split)
        order = _run_order(len(split_docs), name, split, seed, src.max_documents)
        provenance["split_documents"] = len(order)
        provenance["split_bytes"] = sum(len(split_docs[i].text.encode()) for i in order)
        return _finite(name, split, split_docs, order, provenance)
    if src.kind == "generator":
        stats: dict[str, float] = {}
        provenance = {
            "kind": "generator",
            "generator": src.generator,
            "form": src.form,
            "params": dict(src.params),
            "correction": _correction_summary(src),
        }
        make_chunk = _generator_chunk_maker(src, split, seed)
        key = {
            "name": f"gen-{src.generator}",
            "generator": src.generator,
            "params": dict(src.params),
            "form": src.form,
            "correction": _correction_summary(src),
            "split": split,
            "seed": seed,
            "chunk": _CHUNK,
            "code_sha256": generator_code_sha256(src.generator),
        }
        return SourceStream(
            name,
            _generator_documents(make_chunk, stats),
            provenance,
            stats,
            make_chunk=make_chunk,
            cache_key=key,
            split=split,
        )
    if src.kind in ("local", "hf"):
        from scaling.data import external

        docs, provenance = external.load(src, cache_dir=cache_dir)
        split_docs = external.split(docs, split)
        order = _run_order(len(split_docs), name, split, seed, src.max_documents)
        return _finite(name, split, split_docs, order, provenance)
    raise UserError(f"source kind {src.kind!r} is not supported")


def _finite(
    name: str, split: str, split_docs: list[Document], order: list[int], provenance: dict
) -> SourceStream:
    return SourceStream(
        name,
        (split_docs[i] for i in order),
        provenance,
        split_docs=split_docs,
        order=order,
        split=split,
    )


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
