"""External data: a user's own files (``kind=local``) and Hugging Face datasets (``kind=hf``).

``load(src)`` returns every document of the source with its provenance; ``split(docs, split)``
keeps the train or held-out part. The held-out split is by document, with the rule of
``installed_docs``: a document is held out when ``sha256(doc_id) % 20 == 0``. Document ids are
stable: they do not depend on where a corpus folder lives, on the run or on the order of loading.

One job per module:

- ``files``: local files and folders (``.txt``, ``.jsonl``, ``.parquet``), read in place;
- ``hf``: ``save_to_disk`` folders, local data folders and hub ids (streamed once, then cached);
- ``render``: the text of a record (``text_field``; plain text, chats, agent traces);
- ``provenance``: the renderer version, the held-out rule and the content digest.
"""

from __future__ import annotations

from typing import Any

from scaling.core.config import SourceConfig
from scaling.core.errors import UserError
from scaling.data.documents import Document
from scaling.data.external.files import LOCAL_SUFFIXES, check_local, load_local
from scaling.data.external.hf import check_hf, load_hf
from scaling.data.external.provenance import RENDER_VERSION, field_label, is_heldout
from scaling.data.external.render import ROLES, parse_text_field, render_messages, render_record

__all__ = [
    "LOCAL_SUFFIXES",
    "RENDER_VERSION",
    "ROLES",
    "check",
    "is_heldout",
    "load",
    "parse_text_field",
    "render_messages",
    "render_record",
    "split",
]


def load(
    src: SourceConfig, cache_dir: str | None = None, *, where: str | None = None
) -> tuple[list[Document], dict[str, Any]]:
    """Every document of a ``local`` or ``hf`` source, and its provenance.

    ``where`` names the source in error messages (e.g. ``data.mixture.web``); without it the
    messages say ``local source`` / ``hf source``.
    """
    if src.kind == "local":
        return load_local(src, where)
    if src.kind == "hf":
        return load_hf(src, cache_dir, where)
    raise UserError(f"{field_label(where, 'kind', src.kind)}={src.kind!r}: must be local or hf")


def check(src: SourceConfig, cache_dir: str | None = None, *, where: str | None = None) -> None:
    """Refuse, before a run writes anything, a source that ``load`` would refuse cheaply: a
    missing local path, a hub id that is neither cached nor reachable (UserError, one line)."""
    if src.kind == "local":
        check_local(src, where)
    elif src.kind == "hf":
        check_hf(src, cache_dir, where)


def split(docs: list[Document], split: str) -> list[Document]:
    """The documents of ``split`` (train or heldout), by the installed_docs rule on the id."""
    if split not in ("train", "heldout"):
        raise ValueError("split must be one of ('train', 'heldout')")
    want = split == "heldout"
    return [d for d in docs if is_heldout(d.doc_id) == want]
