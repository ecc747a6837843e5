"""The tokenizer protocol and the byte-level tokenizer (the default).

Every tokenizer reports the number of UTF-8 bytes each token id stands for
(``token_bytes``), so losses convert to bits per byte and different tokenizers compare:
bpb = sum(loss_nats) / (ln 2 * sum(bytes of the predicted tokens)). The end-of-document token
counts as one byte (it stands for a document break, like a newline).
"""

from __future__ import annotations

import hashlib
from typing import Protocol

import numpy as np


class Tokenizer(Protocol):
    name: str
    vocab_size: int
    eos_id: int

    def encode(self, text: str) -> np.ndarray: ...
    def decode(self, ids: list[int] | np.ndarray) -> str: ...
    def token_bytes(self) -> np.ndarray: ...
    def fingerprint(self) -> str: ...


BYTE_VOCAB = 257  # bytes 0..255 and the end-of-document token


class ByteTokenizer:
    """UTF-8 bytes 0..255 and one end-of-document token (id 256)."""

    name = "byte"
    vocab_size = BYTE_VOCAB
    eos_id = BYTE_VOCAB - 1

    def encode(self, text: str) -> np.ndarray:
        return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).astype(np.uint16)

    def decode(self, ids: list[int] | np.ndarray) -> str:
        data = bytes(int(i) for i in ids if int(i) < 256)
        return data.decode("utf-8", errors="replace")

    def token_bytes(self) -> np.ndarray:
        return np.ones(self.vocab_size, dtype=np.int64)

    def fingerprint(self) -> str:
        return hashlib.sha256(b"byte-tokenizer-v1").hexdigest()[:16]
