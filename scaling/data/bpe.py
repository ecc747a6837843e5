"""Subword tokenizers: byte-level BPE trained on the run's data, and pretrained ones by name.

Both are byte-level BPE (Sennrich et al. 2016, "Neural Machine Translation of Rare Words with
Subword Units", §3; byte-level variant of Radford et al. 2019, "Language Models are Unsupervised
Multitask Learners", §2.2): every token stands for an exact byte string, so any text round-trips
(``decode(encode(x)) == x``) and ``token_bytes`` is exact, which is what makes bits per byte
comparable across tokenizers.

``kind="bpe"`` trains with the ``tokenizers`` library on at most ``TRAIN_BYTES`` of text from the
TRAINING split of the run's data mixture (each source contributes its weight's share, documents
in the run's seeded order, via ``scaling.data.sources.open_source``), with GPT-2's
pre-tokenization regex and no normaliser, plus one end-of-document token ``<|endoftext|>`` (id 0).
The model is cached under the hash of (training text sha256, vocab size, tokenizers version) in
``scaling.data.cache.cache_root``; the first process builds it under the cache lock and publishes
it with an atomic rename, parallel workers and later runs read it. If the text supports fewer
merges than asked, the vocabulary is padded to ``vocab_size`` with ids that never occur, so the
model shape (and its parameter count) follows the config.

``kind="pretrained"``: ``name`` is a local directory (``save_pretrained`` output, or any folder
with a ``tokenizer.json``) or a hub id, read with ``tokenizers`` (``tokenizer.json``) and, if a
repository has none, ``transformers.AutoTokenizer``. Only byte-level tokenizers are accepted
(GPT-2, GPT-NeoX/Pythia, Llama 3, Qwen, OLMo, SmolLM, ...): for the others (SentencePiece
unigram, WordPiece) the bytes of a token are not defined exactly. Without a network a hub id
fails within seconds with one line, unless its tokenizer is in the Hugging Face cache already.
A tokenizer's normaliser, if any (e.g. NFC), is kept: round trips are exact for normalised text.
"""

from __future__ import annotations

import hashlib
import json
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from scaling.config import DataConfig
from scaling.errors import UserError

EOS = "<|endoftext|>"
TRAIN_BYTES = 3_000_000
BPE_VERSION = "bpe-bytelevel-v1"
_EOS_CANDIDATES = ("<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>", "<|im_end|>")

builds = 0  # how many BPE models this process trained (the rest came from the cache)


@lru_cache(maxsize=1)
def byte_alphabet() -> dict[str, int]:
    """GPT-2's byte <-> printable character map, inverted: character -> byte value.

    Radford et al. 2019 (openai/gpt-2, ``encoder.py``, ``bytes_to_unicode``): printable Latin-1
    bytes map to themselves, the other bytes to code points 256 and up, in byte order.
    """
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1)]
    keep += list(range(ord("®"), ord("ÿ") + 1))
    chars, extra = {}, 0
    for b in range(256):
        if b in keep:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return {c: b for b, c in chars.items()}


def _tokenizers_version() -> str:
    import tokenizers

    return tokenizers.__version__


class BPETokenizer:
    """A byte-level ``tokenizers.Tokenizer`` behind the ``scaling.tokenizer.Tokenizer`` protocol.

    ``vocab_size`` may exceed the model's own vocabulary (padding, or an appended end-of-document
    id for a pretrained tokenizer without one): those ids never come out of ``encode``.
    """

    def __init__(
        self,
        tk: Any,
        *,
        name: str,
        vocab_size: int,
        eos_id: int,
        provenance: dict[str, Any],
        where: str = "tokenizer.name",
    ) -> None:
        self._tk = tk
        self.name = name
        self.vocab_size = int(vocab_size)
        self.eos_id = int(eos_id)
        self.provenance = provenance
        tk.encode_special_tokens = True  # literal "<|endoftext|>" in a text is text, not EOS
        self._table = _byte_table(tk, self.vocab_size, where)
        self._dtype = np.uint16 if self.vocab_size <= 1 << 16 else np.uint32
        lengths = np.fromiter((len(b) for b in self._table), dtype=np.int64, count=self.vocab_size)
        lengths[self.eos_id] = 1  # a document break counts as one byte (scaling.tokenizer)
        lengths[lengths == 0] = 1  # ids that never occur; any positive value keeps bpb defined
        self._token_bytes = lengths
        self._fingerprint = hashlib.sha256(
            f"{tk.to_str()}\0{self.vocab_size}\0{self.eos_id}".encode()
        ).hexdigest()[:16]

    def encode(self, text: str) -> np.ndarray:
        ids = self._tk.encode(text, add_special_tokens=False).ids
        return np.asarray(ids, dtype=self._dtype)

    def decode(self, ids: list[int] | np.ndarray) -> str:
        table, eos, n = self._table, self.eos_id, self.vocab_size
        data = b"".join(table[i] for i in (int(j) for j in ids) if i != eos and 0 <= i < n)
        return data.decode("utf-8", errors="replace")

    def token_bytes(self) -> np.ndarray:
        return self._token_bytes.copy()

    def fingerprint(self) -> str:
        return self._fingerprint


def _byte_table(tk: Any, vocab_size: int, where: str) -> list[bytes]:
    """The exact byte string of every id: ByteLevel characters mapped back to bytes; added
    tokens stand for their content's UTF-8 bytes. Raises UserError if the model is not
    byte-level."""
    inverse = byte_alphabet()
    added = {i: t.content for i, t in tk.get_added_tokens_decoder().items()}
    table = [b""] * vocab_size
    for token, i in tk.get_vocab(with_added_tokens=True).items():
        if i >= vocab_size:
            continue
        if i in added:
            table[i] = added[i].encode("utf-8")
            continue
        try:
            table[i] = bytes(inverse[c] for c in token)
        except KeyError:
            model = json.loads(tk.to_str()).get("model", {}).get("type", "unknown")
            raise UserError(
                f"{where}: token {token!r} is not byte-level (model {model}); only byte-level BPE "
                "tokenizers (GPT-2, Pythia, Llama 3, Qwen, ...) give exact bytes per token for "
                "bits per byte"
            ) from None
    return table


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


def _require_byte_level(tk: Any, where: str) -> None:
    """Byte-level BPE: a BPE model with a ByteLevel pre-tokenizer or decoder (GPT-2 style)."""
    spec = json.loads(tk.to_str())
    model = (spec.get("model") or {}).get("type", "unknown")

    def types(node: Any) -> list[str]:
        if not isinstance(node, dict):
            return []
        inner = node.get("pretokenizers") or node.get("decoders") or []
        return [node.get("type", ""), *(t for n in inner for t in types(n))]

    pre = types(spec.get("pre_tokenizer"))
    dec = types(spec.get("decoder"))
    if model != "BPE" or "ByteLevel" not in pre + dec:
        shown = "/".join(t for t in pre if t != "Sequence") or "none"
        raise UserError(
            f"{where}: is not a byte-level BPE tokenizer (model {model}, pre-tokenizer {shown}); "
            "only byte-level ones (GPT-2, Pythia, Llama 3, Qwen, ...) give exact bytes per token "
            "for bits per byte"
        )


# ---- kind=bpe ----------------------------------------------------------------------------------


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


def _train(texts: list[str], vocab_size: int) -> Any:
    """A byte-level BPE model of ``vocab_size`` ids (end-of-document token first)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=[EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tk.train_from_iterator(texts, trainer=trainer, length=len(texts))
    return tk


def build_bpe(
    *,
    vocab_size: int,
    data: DataConfig,
    seed: int,
    cache_dir: str | None = None,
    max_bytes: int = TRAIN_BYTES,
) -> BPETokenizer:
    """The BPE tokenizer of ``data`` at ``vocab_size``: from the cache, else trained once."""
    global builds
    from tokenizers import Tokenizer

    from scaling.data.cache import atomic_write_bytes, cache_root, key_hash, locked

    if not isinstance(vocab_size, int) or vocab_size < 260:
        raise UserError(
            f"tokenizer.vocab_size={vocab_size!r}: must be an integer >= 260 for kind=bpe"
        )
    _check_stream_ids(vocab_size, "tokenizer.vocab_size")
    texts, taken = training_text(data, seed=seed, cache_dir=cache_dir, max_bytes=max_bytes)
    sha = hashlib.sha256()
    for t in texts:
        sha.update(t.encode())
        sha.update(b"\0")
    key = {
        "tokenizer": BPE_VERSION,
        "text_sha256": sha.hexdigest(),
        "vocab_size": vocab_size,
        "tokenizers": _tokenizers_version(),
    }
    path = cache_root(cache_dir) / f"bpe-{key_hash(key)}.json"
    seconds = None
    if not path.exists():
        with locked(path):
            if not path.exists():
                t0 = time.perf_counter()
                tk = _train(texts, vocab_size)
                seconds = round(time.perf_counter() - t0, 3)
                builds += 1
                atomic_write_bytes(path, tk.to_str().encode())
                meta = path.with_name(path.name.replace(".json", ".key.json"))
                atomic_write_bytes(meta, json.dumps(key, indent=1, sort_keys=True).encode())
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


# ---- kind=pretrained ---------------------------------------------------------------------------


def _eos_from_config(folder: Path | None, fetch: Any = None) -> str | None:
    """The eos token string named by tokenizer_config.json or special_tokens_map.json."""
    for fname in ("tokenizer_config.json", "special_tokens_map.json"):
        try:
            if folder is not None:
                p = folder / fname
                if not p.exists():
                    continue
                raw = json.loads(p.read_text(encoding="utf-8"))
            else:
                local = fetch(fname)
                if local is None:
                    continue
                raw = json.loads(Path(local).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        eos = raw.get("eos_token")
        if isinstance(eos, dict):
            eos = eos.get("content")
        if isinstance(eos, str) and eos:
            return eos
    return None


def _from_transformers(name: str, where: str, **kw: Any) -> tuple[Any, str | None]:
    try:
        from transformers import AutoTokenizer

        hf = AutoTokenizer.from_pretrained(name, **kw)
    except Exception as exc:  # noqa: BLE001 - any load failure is one clear user error
        from scaling.data.external import _short

        raise UserError(f"{where}={name!r}: could not be loaded ({_short(exc)})") from None
    if not getattr(hf, "is_fast", False):
        raise UserError(f"{where}={name!r}: has no fast (Rust) tokenizer; use a byte-level one")
    return hf.backend_tokenizer, hf.eos_token


def _load_pretrained(name: str) -> tuple[Any, str | None, dict[str, Any]]:
    from tokenizers import Tokenizer

    from scaling.data import external

    where = "tokenizer.name"
    folder = Path(name).expanduser()
    if folder.exists():
        if folder.is_file() and folder.suffix == ".json":
            return Tokenizer.from_file(str(folder)), None, {"path": str(folder.resolve())}
        if (folder / "tokenizer.json").exists():
            tk = Tokenizer.from_file(str(folder / "tokenizer.json"))
            return tk, _eos_from_config(folder), {"path": str(folder.resolve())}
        tk, eos = _from_transformers(str(folder), where, local_files_only=True)
        return tk, eos, {"path": str(folder.resolve())}

    from huggingface_hub import hf_hub_download

    def cached(fname: str) -> str | None:
        try:
            return hf_hub_download(name, fname, local_files_only=True)
        except Exception:  # noqa: BLE001 - not in the local cache
            return None

    local = cached("tokenizer.json")
    if local is not None:
        return Tokenizer.from_file(local), _eos_from_config(None, cached), {"hub_cache": local}
    reason = external.hub_unreachable_reason()
    if reason is not None:
        raise UserError(
            external.offline_message(
                f"{where}={name!r}", reason, "use a local tokenizer directory (save_pretrained)"
            )
        )

    def fetch(fname: str) -> str | None:
        try:
            return hf_hub_download(name, fname)
        except Exception:  # noqa: BLE001 - optional file
            return None

    path = fetch("tokenizer.json")
    if path is not None:
        return Tokenizer.from_file(path), _eos_from_config(None, fetch), {"hub": name}
    tk, eos = _from_transformers(name, where)
    return tk, eos, {"hub": name}


def build_pretrained(name: str) -> BPETokenizer:
    """A pretrained byte-level tokenizer by hub id or local path (see the module docstring)."""
    if not name:
        raise UserError("tokenizer.name: is required for kind=pretrained")
    tk, eos, where_from = _load_pretrained(name)
    _require_byte_level(tk, f"tokenizer.name={name!r}")
    vocab = tk.get_vocab(with_added_tokens=True)
    size = max(vocab.values()) + 1 if vocab else 0
    pre = json.loads(tk.to_str()).get("pre_tokenizer") or {}
    stack = pre.get("pretokenizers", [pre]) if pre.get("type") == "Sequence" else [pre]
    if any(p.get("type") == "ByteLevel" and p.get("add_prefix_space") for p in stack):
        raise UserError(
            f"tokenizer.name={name!r}: its ByteLevel pre-tokenizer adds a prefix space, so token "
            "bytes would not match the text; use a tokenizer without add_prefix_space"
        )
    eos = eos or next((c for c in _EOS_CANDIDATES if c in vocab), None)
    appended = eos is None or eos not in vocab
    eos_id = size if appended else vocab[eos]
    vocab_size = size + 1 if appended else size
    _check_stream_ids(vocab_size, f"tokenizer.name={name!r}")
    provenance = {
        "kind": "pretrained",
        "source": where_from,
        "eos": None if appended else eos,
        "eos_appended": appended,
        "model_vocab_size": size,
        "tokenizers": _tokenizers_version(),
    }
    label = Path(name).name if Path(name).expanduser().exists() else name
    return BPETokenizer(tk, name=label, vocab_size=vocab_size, eos_id=eos_id, provenance=provenance)


def build(
    kind: str,
    *,
    vocab_size: int = 1024,
    name: str | None = None,
    data: DataConfig | None = None,
    seed: int = 0,
    cache_dir: str | None = None,
) -> BPETokenizer:
    """Tokenizer for ``tokenizer.kind`` ``bpe`` (trained on ``data``) or ``pretrained``
    (``name``); called by ``scaling.tokenizer.build_tokenizer``."""
    if kind == "bpe":
        if data is None:
            raise UserError("tokenizer.kind=bpe: needs the run's data config to train on")
        return build_bpe(vocab_size=vocab_size, data=data, seed=seed, cache_dir=cache_dir)
    if kind == "pretrained":
        return build_pretrained(name or "")
    raise UserError(f"tokenizer.kind={kind!r}: must be one of byte, bpe, pretrained")
