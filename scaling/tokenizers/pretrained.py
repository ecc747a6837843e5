"""Pretrained byte-level tokenizers by name: a local directory (``save_pretrained`` output, or
any folder with a ``tokenizer.json``) or a hub id, read with ``tokenizers`` (``tokenizer.json``)
and, if a repository has none, ``transformers.AutoTokenizer``. Only byte-level tokenizers are
accepted (GPT-2, GPT-NeoX/Pythia, Llama 3, Qwen, OLMo, SmolLM, ...): for the others (SentencePiece
unigram, WordPiece) the bytes of a token are not defined exactly. Without a network a hub id
fails within seconds with one line, unless its tokenizer is in the Hugging Face cache already.
A hub id is read at ``revision`` (a commit sha, tag or branch; None = main), recorded in the
tokenizer's provenance; a local path takes no revision.
A tokenizer's normaliser, if any (e.g. NFC), is kept: round trips are exact for normalised text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scaling.core import hub
from scaling.core.errors import UserError
from scaling.tokenizers.bpe import (
    _EOS_CANDIDATES,
    BPETokenizer,
    _require_byte_level,
    _tokenizers_version,
)


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
        raise UserError(f"{where}={name!r}: could not be loaded ({hub.short_error(exc)})") from None
    if not getattr(hf, "is_fast", False):
        raise UserError(f"{where}={name!r}: has no fast (Rust) tokenizer; use a byte-level one")
    return hf.backend_tokenizer, hf.eos_token


def _load_pretrained(
    name: str, revision: str | None = None
) -> tuple[Any, str | None, dict[str, Any]]:
    """The ``tokenizers`` object, eos token and origin of tokenizer ``name`` (a path or hub id)."""
    where = "tokenizer.name"
    folder = Path(name).expanduser()
    if folder.exists():
        if revision is not None:
            raise UserError(
                f"tokenizer.revision={revision!r}: pins a hub repository, but {where}={name!r} "
                "is a local path; set tokenizer.revision to null"
            )
        return _load_local(folder, where)
    return _load_hub(name, revision, where)


def _load_local(folder: Path, where: str) -> tuple[Any, str | None, dict[str, Any]]:
    """A tokenizer from a ``tokenizer.json`` file or a folder (``save_pretrained`` output)."""
    from tokenizers import Tokenizer

    if folder.is_file() and folder.suffix == ".json":
        return Tokenizer.from_file(str(folder)), None, {"path": str(folder.resolve())}
    if (folder / "tokenizer.json").exists():
        tk = Tokenizer.from_file(str(folder / "tokenizer.json"))
        return tk, _eos_from_config(folder), {"path": str(folder.resolve())}
    tk, eos = _from_transformers(str(folder), where, local_files_only=True)
    return tk, eos, {"path": str(folder.resolve())}


def _load_hub(
    name: str, revision: str | None, where: str
) -> tuple[Any, str | None, dict[str, Any]]:
    """A tokenizer from hub repository ``name`` at ``revision``: the Hugging Face cache first,
    then (when the hub is reachable) a download."""
    from huggingface_hub import hf_hub_download
    from tokenizers import Tokenizer

    def cached(fname: str) -> str | None:
        try:
            return hf_hub_download(name, fname, revision=revision, local_files_only=True)
        except Exception:  # noqa: BLE001 - not in the local cache
            return None

    local = cached("tokenizer.json")
    if local is not None:
        return Tokenizer.from_file(local), _eos_from_config(None, cached), {"hub_cache": local}
    reason = hub.hub_unreachable_reason()
    if reason is not None:
        raise UserError(
            hub.offline_message(
                f"{where}={name!r}", reason, "use a local tokenizer directory (save_pretrained)"
            )
        )

    def fetch(fname: str) -> str | None:
        try:
            return hf_hub_download(name, fname, revision=revision)
        except Exception:  # noqa: BLE001 - optional file
            return None

    path = fetch("tokenizer.json")
    if path is not None:
        return Tokenizer.from_file(path), _eos_from_config(None, fetch), {"hub": name}
    tk, eos = _from_transformers(name, where, revision=revision)
    return tk, eos, {"hub": name}


def build_pretrained(name: str, revision: str | None = None) -> BPETokenizer:
    """A pretrained byte-level tokenizer by hub id (at ``revision``, None = main) or local path
    (see the module docstring)."""
    if not name:
        raise UserError("tokenizer.name: is required for kind=pretrained")
    tk, eos, where_from = _load_pretrained(name, revision)
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
    provenance = {
        "kind": "pretrained",
        "source": where_from,
        "revision": revision,
        "eos": None if appended else eos,
        "eos_appended": appended,
        "model_vocab_size": size,
        "tokenizers": _tokenizers_version(),
    }
    label = Path(name).name if Path(name).expanduser().exists() else name
    return BPETokenizer(tk, name=label, vocab_size=vocab_size, eos_id=eos_id, provenance=provenance)
