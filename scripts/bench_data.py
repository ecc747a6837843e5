"""Data-preparation throughput: how fast each source turns into a run's training token stream.

    python scripts/bench_data.py [--tokens 2000000]

Prints JSON, one entry per case, each measured in this process, side by side:

- ``installed_docs_mine_cold``: mining the stdlib documentation into an empty cache
  (documents and MB of text per second; a one-off per machine and package set);
- ``web_stream`` / ``frontier_stream`` / ``frontier_corrected_stream`` / ``local_stream``:
  ``build_train_stream`` for ``--tokens`` training tokens with the byte tokenizer, three ways
  side by side: ``direct`` (tokenizing the documents, no token cache), ``cold`` (first run on an
  empty token cache: tokenizes and writes the memmap shard) and ``warm`` (a later run reading
  the shard), with ``warm_speedup`` = warm tokens/s over direct tokens/s. The web case reads
  the warm document cache; the frontier cases generate, verify and, for the corrected case,
  run the simulated expert with epsilon 0.1 and recall 0.9;
- ``web_stream_bpe``: the same web stream through a locally trained BPE (vocabulary 1024;
  training the tokenizer is reported separately as ``bpe_train_seconds``).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from scaling.core.config import CorrectionConfig, DataConfig, SourceConfig
from scaling.data import installed_docs
from scaling.data.stream import build_train_stream
from scaling.data.tokenizer import build_tokenizer


def _timed(data: DataConfig, tok, tokens: int, cache: str, use_cache: bool) -> dict[str, float]:
    t0 = time.perf_counter()
    stream = build_train_stream(data, tok, tokens, seed=0, cache_dir=cache, use_cache=use_cache)
    dt = time.perf_counter() - t0
    n = len(stream.tokens)
    return {"tokens": int(n), "seconds": round(dt, 3), "tokens_per_second": round(n / dt)}


def _stream_rate(data: DataConfig, tok, tokens: int, cache: str) -> dict[str, object]:
    """Direct, cold-cache and warm-cache preparation of the same stream, in that order."""
    out: dict[str, object] = {
        "direct": _timed(data, tok, tokens, cache, use_cache=False),
        "cold": _timed(data, tok, tokens, cache, use_cache=True),
        "warm": _timed(data, tok, tokens, cache, use_cache=True),
    }
    out["warm_speedup"] = round(
        out["warm"]["tokens_per_second"] / out["direct"]["tokens_per_second"], 2
    )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=2_000_000)
    args = ap.parse_args(argv)
    out: dict[str, object] = {"tokens": args.tokens}
    byte = build_tokenizer("byte")
    with tempfile.TemporaryDirectory() as cache:
        t0 = time.perf_counter()
        docs = list(installed_docs.mine(["stdlib"]))
        dt = time.perf_counter() - t0
        mb = sum(len(d.text.encode()) for d in docs) / 1e6
        out["installed_docs_mine_cold"] = {
            "documents": len(docs),
            "mb": round(mb, 2),
            "seconds": round(dt, 2),
            "documents_per_second": round(len(docs) / dt),
            "mb_per_second": round(mb / dt, 2),
        }
        web = DataConfig(
            name="web", mixture={"web": SourceConfig(packages=["stdlib"])}, eval_domain=None
        )
        _timed(web, byte, 1000, cache, use_cache=False)  # fill the document cache
        out["web_stream"] = _stream_rate(web, byte, args.tokens, cache)
        gen = SourceConfig(kind="generator", generator="arithmetic", form="trace")
        out["frontier_stream"] = _stream_rate(
            DataConfig(name="frontier", mixture={"frontier": gen}), byte, args.tokens, cache
        )
        noisy = SourceConfig(
            kind="generator",
            generator="arithmetic",
            form="trace",
            correction=CorrectionConfig(epsilon=0.1, recall=0.9, mode="process_correction"),
        )
        out["frontier_corrected_stream"] = _stream_rate(
            DataConfig(name="corrected", mixture={"frontier": noisy}), byte, args.tokens, cache
        )
        folder = Path(cache) / "corpus"
        folder.mkdir()
        rng = random.Random(0)
        words = [d.text for d in docs[:2000]]
        for i in range(2000):
            (folder / f"doc{i:04d}.txt").write_text(rng.choice(words), encoding="utf-8")
        local = SourceConfig(kind="local", path=str(folder))
        out["local_stream"] = _stream_rate(
            DataConfig(name="local", mixture={"local": local}), byte, args.tokens, cache
        )
        t0 = time.perf_counter()
        bpe = build_tokenizer("bpe", vocab_size=1024, data=web, seed=0, cache_dir=cache)
        out["bpe_train_seconds"] = round(time.perf_counter() - t0, 2)
        out["web_stream_bpe"] = _stream_rate(web, bpe, args.tokens, cache)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
