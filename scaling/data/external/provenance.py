"""What every external loader records about the documents it loads: the renderer version, the
held-out rule, a streaming digest (count, bytes, content sha256) and how a source's fields are
named in messages.

The held-out split is by document, with the rule of ``scaling.data.installed_docs``: a document
is held out when ``sha256(doc_id) % 20 == 0`` (1 in 20).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from scaling.data.documents import Document

# Version of the record -> text rendering (``external.render``); part of every provenance and of
# the hub cache key, so a rendering change never reads documents rendered the old way.
RENDER_VERSION = "external-v1"

__all__ = ["RENDER_VERSION", "Digest", "field_label", "is_heldout", "take"]


def is_heldout(doc_id: str) -> bool:
    """Held-out split by document: 1 in 20 documents, by sha256 of the id (as installed_docs)."""
    return int(hashlib.sha256(doc_id.encode()).hexdigest(), 16) % 20 == 0


def field_label(where: str | None, name: str, kind: str) -> str:
    """How messages name field ``name`` of a source: ``where.name`` (e.g.
    ``data.mixture.web.path``), else ``<kind> source <name>``."""
    return f"{where}.{name}" if where else f"{kind} source {name}"


class Digest:
    """Streaming provenance of a document sequence: count, UTF-8 bytes and content sha256."""

    def __init__(self) -> None:
        self.sha = hashlib.sha256()
        self.documents = 0
        self.bytes = 0
        self.train_documents = 0
        self.train_bytes = 0

    def add(self, doc: Document) -> None:
        data = doc.text.encode()
        self.sha.update(doc.doc_id.encode())
        self.sha.update(b"\0")
        self.sha.update(data)
        self.sha.update(b"\0")
        self.documents += 1
        self.bytes += len(data)
        if not is_heldout(doc.doc_id):
            self.train_documents += 1
            self.train_bytes += len(data)

    def summary(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "bytes": self.bytes,
            "content_sha256": self.sha.hexdigest(),
            # the training split, for the pool estimate of scaling.data.stream
            "split_documents": self.train_documents,
            "split_bytes": self.train_bytes,
        }


def take(docs: Iterable[Document], limit: int | None, digest: Digest) -> list[Document]:
    """The first ``limit`` documents (all if None), each added to ``digest``."""
    out = []
    for d in docs:
        out.append(d)
        digest.add(d)
        if limit is not None and len(out) >= limit:
            break
    return out
