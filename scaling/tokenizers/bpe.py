"""Byte-level BPE (Sennrich et al. 2016, "Neural Machine Translation of Rare Words with Subword
Units", §3; byte-level variant of Radford et al. 2019, "Language Models are Unsupervised Multitask
Learners", §2.2): every token stands for an exact byte string, so any text round-trips
(``decode(encode(x)) == x``) and ``token_bytes`` is exact, which is what makes bits per byte
comparable across tokenizers.

``BPETokenizer`` wraps a ``tokenizers.Tokenizer`` (trained here by ``train_bpe``, or pretrained,
``tokenizers.pretrained``); training on a run's data and caching it is ``data.tokenizer``'s job.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import Any

import numpy as np

from scaling.core.errors import UserError

EOS = "<|endoftext|>"
BPE_VERSION = "bpe-bytelevel-v1"
_EOS_CANDIDATES = ("<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>", "<|im_end|>")


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
    """A byte-level ``tokenizers.Tokenizer`` behind the ``tokenizers.base.Tokenizer`` protocol.

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
        lengths[self.eos_id] = 1  # a document break counts as one byte (scaling.tokenizers.base)
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


def train_bpe(texts: list[str], vocab_size: int) -> Any:
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
