"""Documents -> one packed token stream with a loss mask, for training and for evaluation.

Packing: documents are tokenized, each followed by the end-of-document token, and concatenated;
window ``i`` of a stream is ``tokens[i*T : i*T + T + 1]`` (inputs and shifted targets), so every
token is a target once per pass and no window is built across a train/held-out boundary.

Training pools: each source contributes ``weight`` of the pool's tokens. The pool is the unique
data; a run that needs more tokens than the pool holds repeats it, reshuffling document order
every epoch (the repetition regime of Muennighoff et al. 2023, §2). Without
``data.unique_tokens`` the pool is as large as the run needs, so finite sources repeat only
when they run out.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scaling.core.config import DataConfig, SourceConfig
from scaling.core.errors import UserError
from scaling.data import token_cache
from scaling.data.documents import Document
from scaling.data.sources import SourceStream, derive_seed, open_source
from scaling.tokenizers.base import Tokenizer


@dataclass
class EncodedDoc:
    tokens: np.ndarray  # document tokens followed by EOS
    mask: np.ndarray  # True where the token is supervised as a target


@dataclass
class TokenStream:
    tokens: np.ndarray
    mask: np.ndarray | None  # None: every target supervised
    unique_tokens: int
    epochs: float
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)

    def windows(self, context: int) -> int:
        return (len(self.tokens) - 1) // context

    def batch(self, index: int, batch_size: int, context: int) -> tuple[np.ndarray, ...]:
        """Batch ``index`` of consecutive windows: (x, y, mask_or_None)."""
        start = index * batch_size * context
        n = batch_size * context
        x = self.tokens[start : start + n].reshape(batch_size, context)
        y = self.tokens[start + 1 : start + n + 1].reshape(batch_size, context)
        m = (
            None
            if self.mask is None
            else self.mask[start + 1 : start + n + 1].reshape(batch_size, context)
        )
        return x, y, m


def encode_document(doc: Document, tok: Tokenizer, loss_mask: str = "all") -> EncodedDoc:
    tokens, roles = token_cache.encode_roles(doc, tok)
    return EncodedDoc(tokens, token_cache.supervised_table(loss_mask)[roles])


def _take(
    stream: SourceStream,
    tok: Tokenizer,
    loss_mask: str,
    quota: int,
    cache_dir: str | None = None,
    use_cache: bool = True,
) -> tuple[list[EncodedDoc], int, int]:
    """Encoded documents from ``stream`` until ``quota`` tokens (or the source runs out);
    returns (documents, tokens, UTF-8 bytes of their text).

    With ``use_cache``, the tokens come from the source's shard in the token cache (built on
    first use, see ``scaling.data.token_cache``); the documents, bytes and correction counters
    are exactly those of tokenizing the stream directly.
    """
    if use_cache and stream.split_docs is not None and stream.order is not None:
        key = _shard_key(stream.provenance, stream.name, stream.split, tok)
        if key is not None:
            label = f"{stream.name} ({len(stream.split_docs)} documents)"
            shard = token_cache.finite_shard(
                key, stream.split_docs, tok, label=label, cache_dir=cache_dir
            )
            return _from_shard(shard, stream.order, loss_mask, quota)
    if use_cache and stream.make_chunk is not None and stream.cache_key is not None:
        key = {**stream.cache_key, "tokenizer": tok.fingerprint(), "format": token_cache.FORMAT}
        shard = token_cache.generated_shard(
            key, stream.make_chunk, tok, quota, label=stream.name, cache_dir=cache_dir
        )
        docs, n, nbytes = _from_shard(shard, range(shard.n_docs), loss_mask, quota)
        _sum_chunk_stats(stream.stats, shard.meta, len(docs))
        return docs, n, nbytes
    out, n, nbytes = [], 0, 0
    for doc in stream.documents:
        enc = encode_document(doc, tok, loss_mask)
        out.append(enc)
        n += len(enc.tokens)
        nbytes += len(doc.text.encode())
        if n >= quota:
            break
    return out, n, nbytes


def _shard_key(
    provenance: dict[str, Any], name: str, split: str, tok: Tokenizer
) -> dict[str, Any] | None:
    """Cache key of a finite source's split: its content hash (None when it has none), and a
    hub source's pinned revision when it has one (unpinned keys are as before)."""
    content = provenance.get("content_sha256")
    if not content:
        return None
    pinned = provenance.get("pinned_revision")
    return {
        "name": str(provenance.get("kind", name)),
        "content_sha256": content,
        "split": split,
        "documents": provenance.get("documents"),
        "tokenizer": tok.fingerprint(),
        "format": token_cache.FORMAT,
        **({"revision": pinned} if pinned is not None else {}),
    }


def _from_shard(
    shard: token_cache.Shard, order: Iterable[int], loss_mask: str, quota: int
) -> tuple[list[EncodedDoc], int, int]:
    table = token_cache.supervised_table(loss_mask)
    out, n, nbytes = [], 0, 0
    for i in order:
        tokens = shard.doc_tokens(i)
        out.append(EncodedDoc(tokens, table[shard.doc_roles(i)]))
        n += len(tokens)
        nbytes += int(shard.nbytes[i])
        if n >= quota:
            break
    return out, n, nbytes


def _sum_chunk_stats(stats: dict[str, float], meta: dict[str, Any], n_docs: int) -> None:
    """Add the counters of every chunk up to the one holding document ``n_docs - 1``: what
    consuming the generator directly would have accumulated."""
    for end, chunk in zip(meta["chunk_docs"], meta["chunk_stats"], strict=True):
        for k, v in chunk.items():
            stats[k] = stats.get(k, 0.0) + float(v)
        if end >= n_docs:
            break


def _pool(provenance: dict[str, Any], tokens: int, nbytes: int) -> dict[str, float]:
    """The whole training split of a finite source in tokens, from its size in bytes and the
    tokens per byte of the documents this run took (exact for bytes, close for BPE)."""
    if "split_bytes" not in provenance or not nbytes:
        return {}
    return {"pool_tokens": provenance["split_bytes"] * tokens / nbytes}


def data_cost(sums: dict[str, float], src: SourceConfig, traces: int, tokens: int) -> dict:
    """What the run's unique traces cost: the pipeline's rates over every generated chunk,
    applied to the ``traces`` kept traces (``tokens`` tokens) the run actually took. Repeating
    the pool for more epochs costs nothing more."""
    from scaling.data.correction import derived_stats

    rates = derived_stats(sums, src.correction)
    expert = rates["expert_seconds_per_kept_trace"] * traces
    machine = rates["total_seconds_per_kept_trace"] * traces - expert
    return {
        **rates,
        "traces": traces,
        "tokens": tokens,
        "expert_seconds": expert,
        "machine_seconds": machine,
        "expert_seconds_per_token": expert / tokens if tokens else float("nan"),
    }


def _source_pool(
    data: DataConfig,
    tok: Tokenizer,
    pool_target: int,
    *,
    seed: int,
    cache_dir: str | None,
    use_cache: bool,
) -> tuple[list[EncodedDoc], dict[str, dict[str, Any]]]:
    """The unique training documents of every source (``weight`` of ``pool_target`` tokens
    each, in mixture order) and each source's provenance with what it contributed."""
    pool: list[EncodedDoc] = []
    sources: dict[str, dict[str, Any]] = {}
    for name, share in data.weights().items():
        src = data.mixture[name]
        stream = open_source(name, src, "train", seed=seed, cache_dir=cache_dir)
        quota = max(1, math.ceil(share * pool_target))
        docs, n, nbytes = _take(stream, tok, data.loss_mask, quota, cache_dir, use_cache)
        if not docs:
            raise UserError(f"data.mixture.{name}: the source yielded no training documents")
        pool.extend(docs)
        sources[name] = {
            **stream.provenance,
            "weight": share,
            "unique_tokens": n,
            "pool_documents": len(docs),
            **_pool(stream.provenance, n, nbytes),
            "exhausted": n < quota,
            **({"data_cost": data_cost(stream.stats, src, len(docs), n)} if stream.stats else {}),
        }
    return pool, sources


def _repeat(
    pool: list[EncodedDoc], length: int, rng: random.Random
) -> tuple[np.ndarray, np.ndarray]:
    """Tokens and mask of ``length`` from the pool's documents, shuffled once to interleave the
    sources and reshuffled every further epoch."""
    order = list(range(len(pool)))
    rng.shuffle(order)  # interleave the sources
    chunks_t, chunks_m, total, epoch = [], [], 0, 0
    while total < length:
        if epoch:
            rng.shuffle(order)
        for i in order:
            chunks_t.append(pool[i].tokens)
            chunks_m.append(pool[i].mask)
            total += len(pool[i].tokens)
            if total >= length:
                break
        epoch += 1
    return np.concatenate(chunks_t)[:length], np.concatenate(chunks_m)[:length]


def build_train_stream(
    data: DataConfig,
    tok: Tokenizer,
    tokens_needed: int,
    *,
    seed: int,
    cache_dir: str | None = None,
    use_cache: bool = True,
) -> TokenStream:
    """The exact training stream of a run: ``tokens_needed`` targets (+1 input token).

    ``use_cache=False`` tokenizes the sources directly instead of through the token cache
    (same stream, byte for byte; the tests compare the two).
    """
    pool_target = tokens_needed + 1
    if data.unique_tokens is not None:
        pool_target = min(pool_target, data.unique_tokens)
    pool, sources = _source_pool(
        data, tok, pool_target, seed=seed, cache_dir=cache_dir, use_cache=use_cache
    )
    unique = sum(len(d.tokens) for d in pool)
    rng = random.Random(derive_seed("epochs", data.name, seed))
    tokens, mask = _repeat(pool, tokens_needed + 1, rng)
    seen = min(unique, tokens_needed)  # distinct training tokens the run actually sees
    return TokenStream(
        tokens=tokens,
        mask=None if mask.all() else mask,
        unique_tokens=seen,
        epochs=tokens_needed / seen,
        sources=sources,
    )


def build_eval_stream(
    name: str,
    src: SourceConfig,
    tok: Tokenizer,
    n_tokens: int,
    *,
    seed: int,
    cache_dir: str | None = None,
    use_cache: bool = True,
) -> TokenStream:
    """Held-out documents of ``src``, packed to ``n_tokens`` targets (fewer if it runs out)."""
    stream = open_source(name, src, "heldout", seed=seed, cache_dir=cache_dir)
    mask_kind = "answer" if src.score == "answer" else "all"
    docs, n, _ = _take(stream, tok, mask_kind, n_tokens + 1, cache_dir, use_cache)
    if not docs:
        raise UserError(f"eval.domains.{name}: the source has no held-out documents")
    tokens = np.concatenate([d.tokens for d in docs])[: n_tokens + 1]
    mask = None
    if mask_kind != "all":  # score only the answer targets (stream_loss reads mask[1:])
        mask = np.concatenate([d.mask for d in docs])[: n_tokens + 1]
    return TokenStream(
        tokens=tokens, mask=mask, unique_tokens=n, epochs=1.0, sources={name: stream.provenance}
    )
