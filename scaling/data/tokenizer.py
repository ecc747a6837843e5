"""The run's tokenizer: bytes (default), byte-level BPE trained on the run's own data, or a
pretrained one by name; every one checked to fit the packed token streams.

``kind="bpe"`` trains with the ``tokenizers`` library (``tokenizers.bpe.train_bpe``) on at most
``TRAIN_BYTES`` of text from the TRAINING split of the run's data mixture (each source contributes
its weight's share, documents in the run's seeded order, via ``data.sources.open_source``), with
GPT-2's pre-tokenization regex and no normaliser, plus one end-of-document token
``<|endoftext|>`` (id 0). The model is cached under the hash of (training text sha256, vocab size,
tokenizers version) in ``data.cache.cache_root``; the first process builds it under the cache lock
and publishes it with an atomic rename, parallel workers and later runs read it. If the text
supports fewer merges than asked, the vocabulary is padded to ``vocab_size`` with ids that never
occur, so the model shape (and its parameter count) follows the config.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from scaling.core.config import MIN_BPE_VOCAB, DataConfig, RunConfig
from scaling.core.errors import UserError
from scaling.tokenizers.base import ByteTokenizer, Tokenizer
from scaling.tokenizers.bpe import BPE_VERSION, EOS, BPETokenizer, _tokenizers_version, train_bpe

# 3 MB of training text. Measured on the default installed-docs corpus (``train_bpe`` on the
# first 3 MB of its training split, seed 0, 2 shared CPU cores): the text supports 20,639 ids
# (asked for 65,536), far above the configs' vocabularies, and trains in about 1 s at any
# vocabulary from 1,024 to 16,384.
TRAIN_BYTES = 3_000_000

builds = 0  # how many BPE models this process trained (the rest came from the cache)


def build_tokenizer(kind: str = "byte", **kwargs: Any) -> Tokenizer:
    """The tokenizer of ``tokenizer.kind``: byte, bpe (trained on ``data``) or pretrained."""
    if kind == "byte":
        return ByteTokenizer()
    return build(kind, **kwargs)


def run_tokenizer(run: RunConfig) -> Tokenizer:
    """The tokenizer a run's config asks for (``tokenizer.*``; BPE trained on ``run.data``), as
    the trainer builds it and as ``runs.weights`` rebuilds it for a finished run."""
    t = run.tokenizer
    return build_tokenizer(
        t.kind,
        vocab_size=t.vocab_size,
        name=t.name,
        data=run.data,
        seed=run.seed,
        cache_dir=run.runtime.cache_dir,
        revision=t.revision,
    )


def _check_stream_ids(vocab_size: int, where: str) -> None:
    """Fail early if the packed token streams cannot hold this vocabulary's ids."""
    from scaling.data.documents import Document
    from scaling.data.token_cache import encode_roles  # what the streams pack, not the streams

    top = vocab_size - 1

    class _Probe:
        eos_id = top
        vocab_size = top + 1

        def encode(self, text: str) -> np.ndarray:
            return np.array([top], dtype=np.uint32)

    try:
        tokens, _ = encode_roles(Document("probe", "x"), _Probe())
        held = int(tokens.max()) == top
    except (OverflowError, ValueError):  # numpy refuses an out-of-range id for the dtype
        held = False
    if not held:
        raise UserError(
            f"{where}: a vocabulary of {vocab_size} ids does not fit the token streams "
            "(scaling.data.token_cache packs uint16 or uint32 ids); use a tokenizer with a "
            "smaller vocabulary"
        )


def training_text(
    data: DataConfig, *, seed: int, cache_dir: str | None, max_bytes: int = TRAIN_BYTES
) -> tuple[list[str], dict[str, Any]]:
    """Documents of the training split of ``data``'s mixture, at most ``max_bytes`` of UTF-8,
    each source its weight's share, in the run's seeded order; and what was taken."""
    from scaling.data.sources import open_source

    texts: list[str] = []
    taken: dict[str, dict[str, int]] = {}
    for name, share in data.weights().items():
        quota = max(1, int(share * max_bytes))
        stream = open_source(name, data.mixture[name], "train", seed=seed, cache_dir=cache_dir)
        nbytes = ndocs = 0
        for doc in stream.documents:
            data_bytes = doc.text.encode()
            if nbytes + len(data_bytes) > quota:
                rest = data_bytes[: quota - nbytes].decode("utf-8", errors="ignore")
                if rest:
                    texts.append(rest)
                    nbytes += len(rest.encode())
                    ndocs += 1
                break
            texts.append(doc.text)
            nbytes += len(data_bytes)
            ndocs += 1
        taken[name] = {"documents": ndocs, "bytes": nbytes}
    if not any(texts):
        raise UserError(
            "data.mixture: the sources yielded no training text to train tokenizer.kind=bpe"
        )
    return texts, taken


def _bpe_key(texts: list[str], vocab_size: int) -> dict[str, Any]:
    """Cache key of a BPE model: the training text's sha256, the vocabulary size and versions."""
    sha = hashlib.sha256()
    for t in texts:
        sha.update(t.encode())
        sha.update(b"\0")
    return {
        "tokenizer": BPE_VERSION,
        "text_sha256": sha.hexdigest(),
        "vocab_size": vocab_size,
        "tokenizers": _tokenizers_version(),
    }


def _train_once(path: Path, key: dict[str, Any], texts: list[str], vocab_size: int) -> float | None:
    """Train and publish the model at ``path`` unless it exists (under the cache lock, so one
    process trains it); the training seconds, or None when the cache had it."""
    global builds
    from scaling.core.io import atomic_write_bytes, locked

    seconds = None
    if not path.exists():
        with locked(path):
            if not path.exists():
                t0 = time.perf_counter()
                tk = train_bpe(texts, vocab_size)
                seconds = round(time.perf_counter() - t0, 3)
                builds += 1
                atomic_write_bytes(path, tk.to_str().encode())
                meta = path.with_name(path.name.replace(".json", ".key.json"))
                atomic_write_bytes(meta, json.dumps(key, indent=1, sort_keys=True).encode())
    return seconds


def build_bpe(
    *,
    vocab_size: int,
    data: DataConfig,
    seed: int,
    cache_dir: str | None = None,
    max_bytes: int = TRAIN_BYTES,
) -> BPETokenizer:
    """The BPE tokenizer of ``data`` at ``vocab_size``: from the cache, else trained once."""
    from tokenizers import Tokenizer

    from scaling.data.cache import cache_root, key_hash

    if not isinstance(vocab_size, int) or vocab_size < MIN_BPE_VOCAB:
        raise UserError(
            f"tokenizer.vocab_size={vocab_size!r}: must be an integer >= {MIN_BPE_VOCAB} "
            "for kind=bpe"
        )
    _check_stream_ids(vocab_size, "tokenizer.vocab_size")
    texts, taken = training_text(data, seed=seed, cache_dir=cache_dir, max_bytes=max_bytes)
    key = _bpe_key(texts, vocab_size)
    path = cache_root(cache_dir) / f"bpe-{key_hash(key)}.json"
    seconds = _train_once(path, key, texts, vocab_size)
    tk = Tokenizer.from_file(str(path))
    trained = tk.get_vocab_size(with_added_tokens=True)
    provenance = {
        "kind": "bpe",
        "algorithm": BPE_VERSION,
        "tokenizers": key["tokenizers"],
        "text_sha256": key["text_sha256"],
        "training_bytes": sum(v["bytes"] for v in taken.values()),
        "training_sources": taken,
        "trained_vocab_size": trained,
        "cache_file": str(path),
        "train_seconds": seconds,
    }
    tok = BPETokenizer(
        tk,
        name=f"bpe{vocab_size}-{data.name}",
        vocab_size=vocab_size,
        eos_id=tk.token_to_id(EOS),
        provenance=provenance,
        where="tokenizer.kind=bpe",
    )
    tok.name = f"bpe{vocab_size}-{data.name}-{tok.fingerprint()[:8]}"
    return tok


def build(
    kind: str,
    *,
    vocab_size: int = 1024,
    name: str | None = None,
    data: DataConfig | None = None,
    seed: int = 0,
    cache_dir: str | None = None,
    revision: str | None = None,
) -> BPETokenizer:
    """Tokenizer for ``tokenizer.kind`` ``bpe`` (trained on ``data``) or ``pretrained``
    (``name``, at hub ``revision``); the byte tokenizer needs no data."""
    if kind == "bpe":
        if data is None:
            raise UserError("tokenizer.kind=bpe: needs the run's data config to train on")
        return build_bpe(vocab_size=vocab_size, data=data, seed=seed, cache_dir=cache_dir)
    if kind == "pretrained":
        from scaling.tokenizers.pretrained import build_pretrained

        tok = build_pretrained(name or "", revision)
        _check_stream_ids(tok.vocab_size, f"tokenizer.name={name!r}")
        return tok
    raise UserError(f"tokenizer.kind={kind!r}: must be one of byte, bpe, pretrained")
