"""The token cache: tokenized data prepared once per content hash as NumPy memmaps, shared by
parallel workers, reused by later runs, and byte-identical to tokenizing directly."""

from __future__ import annotations

import json
import logging
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pytest

from scaling.core.config import CorrectionConfig, DataConfig, SourceConfig
from scaling.data import token_cache
from scaling.data.documents import Document
from scaling.data.stream import build_eval_stream, build_train_stream
from scaling.tokenizers.base import ByteTokenizer
from tests.helpers import launch

TOK = ByteTokenizer()
WEB = SourceConfig(kind="installed_docs", packages=["stdlib"])
TRACES = SourceConfig(
    kind="generator",
    generator="arithmetic",
    form="trace",
    params={"digits": 3},
    correction=CorrectionConfig(mode="process_correction", epsilon=0.2, recall=0.8),
)


def _local(tmp_path: Path) -> SourceConfig:
    folder = tmp_path / "corpus"
    folder.mkdir(exist_ok=True)
    for i in range(60):
        (folder / f"d{i:02d}.txt").write_text(f"Document {i}. " + "private prose " * (5 + i))
    return SourceConfig(kind="local", path=str(folder))


def _same(a, b) -> None:
    assert np.array_equal(a.tokens, b.tokens)
    assert (a.mask is None) == (b.mask is None)
    if a.mask is not None:
        assert np.array_equal(a.mask, b.mask)
    assert a.unique_tokens == b.unique_tokens and a.epochs == b.epochs
    assert json.dumps(a.sources, sort_keys=True) == json.dumps(b.sources, sort_keys=True)


@pytest.fixture
def cache(tmp_path, data_cache) -> str:
    """An empty token cache holding only the session's mined docs (mining takes seconds)."""
    import shutil

    from scaling.data.sources import open_source

    open_source("web", WEB, "train", seed=0, cache_dir=data_cache)  # mined once per session
    out = tmp_path / "cache"
    out.mkdir()
    for f in Path(data_cache).glob("installed_docs-*"):
        shutil.copy(f, out / f.name)
    return str(out)


def _shards(cache: Path) -> list[Path]:
    return sorted(p for p in (cache / "tokens").iterdir() if p.is_dir())


@pytest.mark.parametrize("loss_mask", ["all", "answer"])
def test_cached_stream_equals_direct_tokenization(tmp_path, cache, loss_mask):
    """Web docs, corrected traces (with their data cost) and a local corpus, mixed and
    repeated: the cached stream is the direct one, byte for byte, mask and records included."""
    data = DataConfig(
        name="mix",
        mixture={"web": WEB, "traces": TRACES, "local": _local(tmp_path)},
        unique_tokens=30_000,
        loss_mask=loss_mask,
    )
    direct = build_train_stream(data, TOK, 70_000, seed=3, cache_dir=cache, use_cache=False)
    cold = build_train_stream(data, TOK, 70_000, seed=3, cache_dir=cache)
    warm = build_train_stream(data, TOK, 70_000, seed=3, cache_dir=cache)
    _same(direct, cold)
    _same(direct, warm)
    assert direct.epochs > 1 and "data_cost" in direct.sources["traces"]
    names = {p.name.split("-")[0] for p in _shards(Path(cache))}
    assert names == {"installed_docs", "local", "gen"}


def test_eval_stream_from_cache_equals_direct(cache):
    for src in (WEB, TRACES):
        a = build_eval_stream("d", src, TOK, 5_000, seed=1, cache_dir=cache, use_cache=False)
        b = build_eval_stream("d", src, TOK, 5_000, seed=1, cache_dir=cache)
        _same(a, b)


def test_later_runs_reuse_the_shard_without_tokenizing(cache, monkeypatch):
    data = DataConfig(name="web", mixture={"web": WEB})
    first = build_train_stream(data, TOK, 20_000, seed=0, cache_dir=cache)

    def refuse(*args, **kwargs):
        raise AssertionError("tokenized again")

    monkeypatch.setattr(token_cache, "encode_shard", refuse)
    other_seed = build_train_stream(data, TOK, 20_000, seed=1, cache_dir=cache)  # same shard
    again = build_train_stream(data, TOK, 20_000, seed=0, cache_dir=cache)
    _same(first, again)
    assert not np.array_equal(first.tokens, other_seed.tokens)  # the order is per run
    assert len(_shards(Path(cache))) == 1


def test_generated_shard_grows_as_a_prefix(tmp_path):
    cache = str(tmp_path / "cache")
    data = DataConfig(name="f", mixture={"f": TRACES})

    def current(shard_dir: Path) -> tuple[dict, np.ndarray]:
        gen = shard_dir / (shard_dir / "current").read_text()
        return json.loads((gen / "meta.json").read_text()), np.load(gen / "tokens.npy")

    build_train_stream(data, TOK, 5_000, seed=0, cache_dir=cache)
    (shard_dir,) = _shards(Path(cache))
    meta, small = current(shard_dir)
    big = build_train_stream(data, TOK, 200_000, seed=0, cache_dir=cache)
    meta_big, grown = current(shard_dir)
    assert len(meta_big["chunk_docs"]) > len(meta["chunk_docs"]) >= 1
    assert meta_big["chunk_docs"][: len(meta["chunk_docs"])] == meta["chunk_docs"]
    assert np.array_equal(grown[: len(small)], small)  # earlier chunks are kept as they were
    assert len([p for p in shard_dir.iterdir() if p.is_dir()]) == 1  # the old generation is gone
    direct = build_train_stream(data, TOK, 200_000, seed=0, cache_dir=cache, use_cache=False)
    _same(direct, big)


def test_key_follows_content_and_tokenizer(tmp_path):
    cache = str(tmp_path / "cache")
    src = _local(tmp_path)
    data = DataConfig(name="l", mixture={"l": src})
    build_train_stream(data, TOK, 2_000, seed=0, cache_dir=cache)
    (Path(src.path) / "d00.txt").write_text("Edited, so the content hash changes.")
    edited = build_train_stream(data, TOK, 2_000, seed=0, cache_dir=cache)
    assert len(_shards(Path(cache))) == 2
    direct = build_train_stream(data, TOK, 2_000, seed=0, cache_dir=cache, use_cache=False)
    _same(direct, edited)

    class OtherBytes(ByteTokenizer):
        def fingerprint(self) -> str:
            return "other"

    build_train_stream(data, OtherBytes(), 2_000, seed=0, cache_dir=cache)
    assert len(_shards(Path(cache))) == 3


def test_killed_builder_leaves_no_partial_shard(tmp_path):
    """A builder killed mid-write leaves only a temporary directory and no ``current``
    pointer: the next worker builds the shard and removes the leftover."""
    cache = tmp_path / "cache"
    key = {"name": "t", "v": 1}
    docs = [Document(f"d{i}", f"text {i}") for i in range(5)]
    base = token_cache._shard_dir(key, str(cache))
    base.mkdir(parents=True)
    (base / ".g5.999999.tmp").mkdir()
    (base / ".g5.999999.tmp" / "tokens.npy").write_bytes(b"half")
    shard = token_cache.finite_shard(key, docs, TOK, label="t", cache_dir=str(cache))
    assert shard.n_docs == 5 and bytes(shard.doc_tokens(0)[:-1].astype(np.uint8)) == b"text 0"
    assert not list(base.glob(".*.tmp"))


def test_parallel_workers_build_once_and_read_the_same_stream(cache):
    """Two processes start on an empty cache at once: both get the direct stream, and the
    shard is tokenized by exactly one of them."""
    script = textwrap.dedent(
        f"""
        import hashlib, sys
        from scaling.core.config import DataConfig, SourceConfig
        from scaling.data import token_cache
        from scaling.data.stream import build_train_stream
        from scaling.tokenizers.base import ByteTokenizer
        built = []
        real = token_cache.encode_shard
        def counting(*a, **k):
            built.append(1)
            return real(*a, **k)
        token_cache.encode_shard = counting
        data = DataConfig(name="web", mixture={{"web": SourceConfig(packages=["stdlib"])}})
        s = build_train_stream(data, ByteTokenizer(), 50_000, seed=0, cache_dir={cache!r})
        print(hashlib.sha256(s.tokens.tobytes()).hexdigest(), len(built))
        """
    )
    procs = [
        launch(["python", "-c", script], stdout=subprocess.PIPE, stderr=None) for _ in range(2)
    ]
    outs = [p.communicate(timeout=300)[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    data = DataConfig(name="web", mixture={"web": WEB})
    direct = build_train_stream(data, TOK, 50_000, seed=0, cache_dir=cache, use_cache=False)
    import hashlib

    want = hashlib.sha256(direct.tokens.tobytes()).hexdigest()
    assert [o[0] for o in outs] == [want, want]
    assert sorted(int(o[1]) for o in outs) == [0, 1]  # one built it, the other read it


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_large_sources_show_progress(tmp_path, monkeypatch):
    """Off a terminal, progress is a log line (not tqdm's carriage returns), for large work only."""
    lines = _Lines()
    logger = logging.getLogger("scaling")
    logger.addHandler(lines)
    monkeypatch.setattr(logger, "level", logging.INFO)
    try:
        docs = [Document(f"d{i}", "x") for i in range(token_cache.PROGRESS_MIN_DOCS)]
        token_cache.encode_shard(docs, TOK, label="big", total=len(docs))
        assert any(line.startswith("tokenizing big: ") for line in lines.lines), lines.lines
        assert not any("\r" in line for line in lines.lines)
        lines.lines.clear()
        token_cache.encode_shard(docs[:10], TOK, label="small", total=10)
        assert not any("tokenizing small" in line for line in lines.lines)
        monkeypatch.setattr(token_cache, "PROGRESS_MIN_TOKENS", 1_000)
        data = DataConfig(name="f", mixture={"f": TRACES})
        build_train_stream(data, TOK, 2_000, seed=0, cache_dir=str(tmp_path / "c"))
        assert any(line.startswith("generating f: ") for line in lines.lines), lines.lines
    finally:
        logger.removeHandler(lines)
