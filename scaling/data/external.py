"""External data: a user's own files (``kind=local``) and Hugging Face datasets (``kind=hf``).

``load(src)`` returns every document of the source with its provenance; ``split(docs, split)``
keeps the train or held-out part. The held-out split is by document, with the rule of
``installed_docs``: a document is held out when ``sha256(doc_id) % 20 == 0``. Document ids are
stable: they do not depend on where a corpus folder lives, on the run or on the order of loading.

**local** (``src.path``, a file or a folder walked recursively in sorted order; hidden files and
folders are skipped). Files are read in place, never copied: the text of a user's corpus is not
cached anywhere (it may be private, and re-reading local files is fast).

- ``.txt``: one document per file (UTF-8); id ``<relative path>``.
- ``.jsonl``: one document per line, from ``src.text_field``; id ``<relative path>#<line index>``.
- ``.parquet``: one document per row, from column(s) ``src.text_field``, read with pyarrow in row
  batches; id ``<relative path>#<row index>``.

**hf** (``src.dataset``): a hub id (streamed with ``datasets.load_dataset(..., streaming=True)``;
the first ``src.max_documents`` rows of ``src.split`` of ``src.config_name`` are taken, and kept
in the content-addressed cache so later runs and parallel workers read them offline), a
directory written by ``Dataset.save_to_disk``/``DatasetDict.save_to_disk`` (read with
``datasets.load_from_disk``, not cached), or a local data directory/file that ``load_dataset``
understands (streamed from the files, not cached). Ids are ``hf:<name>:<split>:<row index>``,
``<name>`` being the hub id or the local directory's name.

Without a network a hub id fails within seconds with one line (``UserError``): reachability of
the hub's host is probed first (DNS, then TCP to port 443, 3 s each), and ``HF_HUB_OFFLINE=1``
(or ``HF_DATASETS_OFFLINE=1``) means offline. A hub dataset already in the cache needs no network.

**Text of a record** (``src.text_field``, for ``.jsonl``, ``.parquet`` and ``hf``): a
comma-separated list of ``field`` or ``role:field`` parts, rendered by the type of each value.

- One string field (``text``): the document is that string, plain text.
- A field holding a list of messages (dicts with ``role``/``from`` and ``content``/``value``,
  OpenAI or ShareGPT style, optionally with ``tool_calls``) is a chat or agent trace.
- Several parts (``user:question,assistant:answer``) are messages in that order; a string part
  without a role is ``user`` if it is the first such part, else ``assistant``; a value that is not
  a string (a dict, a list of tools) is written as JSON.

A chat is rendered one message per line block, each opened by its role marker::

    <|system|> You are ...
    <|user|> What is ...
    <|assistant|> Let me call the tool.
    <|tool_call|> {"name": "search", "arguments": {"q": "..."}}
    <|tool|> {"results": ...}
    <|assistant|> The answer is 42.

Roles are normalised (``human`` -> ``user``, ``gpt``/``model`` -> ``assistant``,
``function``/``observation``/``ipython`` -> ``tool``, ``function_call`` -> ``tool_call``). For the
loss mask (``data.loss_mask``), system, user and tool messages are ``prompt`` segments, assistant
messages and tool calls are ``trace``, and the last assistant turn (every assistant message and
tool call after the last non-assistant message) is ``answer``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from scaling.core.config import SourceConfig
from scaling.core.errors import UserError
from scaling.core.hub import hub_unreachable_reason, offline_message, short_error
from scaling.data.documents import Document

RENDER_VERSION = "external-v1"
LOCAL_SUFFIXES = (".txt", ".jsonl", ".parquet")
ROLES = ("system", "user", "assistant", "tool", "tool_call")
_ROLE_ALIASES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "model": "assistant",
    "bot": "assistant",
    "chatgpt": "assistant",
    "system": "system",
    "tool": "tool",
    "function": "tool",
    "observation": "tool",
    "ipython": "tool",
    "tool_response": "tool",
    "environment": "tool",
    "function_call": "tool_call",
    "tool_call": "tool_call",
}
_ASSISTANT_ROLES = {"assistant", "tool_call"}
_PARQUET_BATCH_ROWS = 1024


# ---- the public interface used by scaling.data.sources ---------------------------------------


def load(
    src: SourceConfig, cache_dir: str | None = None, *, where: str | None = None
) -> tuple[list[Document], dict[str, Any]]:
    """Every document of a ``local`` or ``hf`` source, and its provenance.

    ``where`` names the source in error messages (e.g. ``data.mixture.web``); without it the
    messages say ``local source`` / ``hf source``.
    """
    if src.kind == "local":
        return _load_local(src, where)
    if src.kind == "hf":
        return _load_hf(src, cache_dir, where)
    raise UserError(f"{_field(where, 'kind', src.kind)}={src.kind!r}: must be local or hf")


def split(docs: list[Document], split: str) -> list[Document]:
    """The documents of ``split`` (train or heldout), by the installed_docs rule on the id."""
    if split not in ("train", "heldout"):
        raise ValueError("split must be one of ('train', 'heldout')")
    want = split == "heldout"
    return [d for d in docs if is_heldout(d.doc_id) == want]


def is_heldout(doc_id: str) -> bool:
    """Held-out split by document: 1 in 20 documents, by sha256 of the id (as installed_docs)."""
    return int(hashlib.sha256(doc_id.encode()).hexdigest(), 16) % 20 == 0


def _field(where: str | None, name: str, kind: str) -> str:
    return f"{where}.{name}" if where else f"{kind} source {name}"


# ---- rendering of records ----------------------------------------------------------------------


def parse_text_field(spec: str, label: str) -> list[tuple[str | None, str]]:
    """``"user:question,assistant:answer"`` -> [("user", "question"), ("assistant", "answer")]."""
    parts: list[tuple[str | None, str]] = []
    for raw in spec.split(","):
        part = raw.strip()
        if not part:
            continue
        role, sep, name = part.partition(":")
        if not sep:
            parts.append((None, part))
            continue
        role, name = role.strip(), name.strip()
        if role not in ROLES or not name:
            raise UserError(
                f"{label}={spec!r}: part {part!r} must be field or role:field with role one of "
                f"{', '.join(ROLES)}"
            )
        parts.append((role, name))
    if not parts:
        raise UserError(f"{label}={spec!r}: name at least one field, e.g. text")
    return parts


def _content_text(content: Any) -> str:
    """Message content as text: a string, or the text parts of an OpenAI content list."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [
            c.get("text", "") if isinstance(c, dict) else str(c)
            for c in content
            if not isinstance(c, dict) or c.get("type", "text") == "text"
        ]
        return "\n".join(t for t in texts if t)
    return json.dumps(content, ensure_ascii=False)


def _tool_call_text(call: Any) -> str:
    """One tool call as JSON ``{"name": ..., "arguments": ...}`` (OpenAI ``tool_calls`` entries,
    legacy ``function_call`` dicts, or anything else as given)."""
    if not isinstance(call, dict):
        return call if isinstance(call, str) else json.dumps(call, ensure_ascii=False)
    fn = call.get("function", call)
    if not isinstance(fn, dict) or "name" not in fn:
        return json.dumps(call, ensure_ascii=False)
    args = fn.get("arguments", fn.get("parameters"))
    if isinstance(args, str):
        with contextlib.suppress(ValueError):
            args = json.loads(args)
    return json.dumps({"name": fn["name"], "arguments": args}, ensure_ascii=False)


def _normal_role(raw: Any) -> str:
    name = str(raw or "user").strip().lower()
    if name in _ROLE_ALIASES:
        return _ROLE_ALIASES[name]
    return re.sub(r"[^a-z0-9_]+", "_", name).strip("_") or "user"


def _is_message(value: Any) -> bool:
    return isinstance(value, dict) and ("role" in value or "from" in value)


def _is_message_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(_is_message(m) for m in value)


def _messages_from(value: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(role, text) entries of a message list; tool calls become ``tool_call`` entries."""
    out: list[tuple[str, str]] = []
    for m in value:
        role = _normal_role(m.get("role", m.get("from")))
        content = m.get("content", m.get("value", m.get("text")))
        text = _content_text(content)
        if text:
            out.append((role, text))
        calls = m.get("tool_calls") or []
        if m.get("function_call"):
            calls = [*calls, m["function_call"]]
        for call in calls:
            out.append(("tool_call", _tool_call_text(call)))
    return out


def render_messages(messages: list[tuple[str, str]]) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Text and (text, segment role) pairs of a chat: ``<|role|> text`` blocks, one per message.

    Segment roles: system/user/tool -> ``prompt``; assistant/tool_call -> ``trace``, except the
    last assistant turn (after the last non-assistant message) -> ``answer``.
    """
    last_prompt = max(
        (i for i, (r, _) in enumerate(messages) if r not in _ASSISTANT_ROLES), default=-1
    )
    segments = []
    for i, (role, text) in enumerate(messages):
        if role in _ASSISTANT_ROLES:
            seg_role = "answer" if i > last_prompt else "trace"
        else:
            seg_role = "prompt"
        segments.append((f"<|{role}|> {text}\n", seg_role))
    return "".join(t for t, _ in segments), tuple(segments)


def render_record(
    record: dict[str, Any], parts: list[tuple[str | None, str]], *, where: str
) -> tuple[str, tuple[tuple[str, str], ...] | None]:
    """(text, segments) of one record; segments is None for plain text. Missing fields raise
    UserError naming the fields the record has."""
    for _, name in parts:
        if name not in record:
            have = ", ".join(sorted(map(str, record))) or "none"
            raise UserError(
                f"{where}: has no field {name!r} (fields: {have}); set text_field to one of them"
            )
    if len(parts) == 1 and parts[0][0] is None:
        value = record[parts[0][1]]
        if value is None:
            return "", None
        if isinstance(value, str):
            return value, None
    messages: list[tuple[str, str]] = []
    defaulted = 0
    for role, name in parts:
        value = record[name]
        if value is None:
            continue
        if _is_message_list(value):
            messages.extend(_messages_from(value))
            continue
        if role is None:
            role = "user" if defaulted == 0 else "assistant"
            defaulted += 1
        if isinstance(value, list) and role == "tool_call":
            messages.extend(("tool_call", _tool_call_text(c)) for c in value)
            continue
        if role == "tool_call" and isinstance(value, str):
            try:  # xLAM-style: a JSON string holding a list of calls
                decoded = json.loads(value)
            except ValueError:
                decoded = None
            if isinstance(decoded, list):
                messages.extend(("tool_call", _tool_call_text(c)) for c in decoded)
                continue
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        if text:
            messages.append((role, text))
    if not messages:
        return "", None
    return render_messages(messages)


def _document(doc_id: str, record: dict[str, Any], parts: list[Any], where: str) -> Document | None:
    text, segments = render_record(record, parts, where=where)
    if not text.strip():
        return None
    return Document(doc_id=doc_id, text=text, segments=segments)


class _Digest:
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


def _take(docs: Iterable[Document], limit: int | None, digest: _Digest) -> list[Document]:
    out = []
    for d in docs:
        out.append(d)
        digest.add(d)
        if limit is not None and len(out) >= limit:
            break
    return out


# ---- local files -------------------------------------------------------------------------------


def _local_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith(".") and Path(name).suffix.lower() in LOCAL_SUFFIXES:
                files.append(Path(dirpath) / name)
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def _relative(path: Path, root: Path) -> str:
    return path.name if root.is_file() else path.relative_to(root).as_posix()


def _txt_documents(path: Path, rel: str, label: str) -> Iterator[Document]:
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(
            f"{label}: {rel} is not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    if text.strip():
        yield Document(doc_id=rel, text=text)


def _jsonl_documents(path: Path, rel: str, parts: list[Any], label: str) -> Iterator[Document]:
    with open(path, "rb") as fh:
        for i, line in enumerate(fh):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise UserError(f"{label}: {rel} line {i + 1} is not JSON ({exc})") from None
            if not isinstance(record, dict):
                raise UserError(f"{label}: {rel} line {i + 1} is not a JSON object")
            doc = _document(f"{rel}#{i}", record, parts, f"{label}: {rel} line {i + 1}")
            if doc is not None:
                yield doc


def _parquet_documents(path: Path, rel: str, parts: list[Any], label: str) -> Iterator[Document]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is one clear user error
        raise UserError(f"{label}: {rel} is not a readable Parquet file ({exc})") from None
    names = pf.schema_arrow.names
    wanted = list(dict.fromkeys(name for _, name in parts))
    missing = [n for n in wanted if n not in names]
    if missing:
        raise UserError(
            f"{label}: {rel} has no column {missing[0]!r} (columns: {', '.join(names)}); "
            "set text_field to one of them"
        )
    row = 0
    for batch in pf.iter_batches(batch_size=_PARQUET_BATCH_ROWS, columns=wanted):
        for record in batch.to_pylist():
            doc = _document(f"{rel}#{row}", record, parts, f"{label}: {rel} row {row}")
            row += 1
            if doc is not None:
                yield doc


def _load_local(src: SourceConfig, where: str | None) -> tuple[list[Document], dict[str, Any]]:
    label = _field(where, "path", "local")
    if not src.path:
        raise UserError(f"{label}: is required for kind=local (a file or folder of text)")
    root = Path(src.path).expanduser()
    shown = f"{label}={src.path!r}"
    if not root.exists():
        raise UserError(f"{shown}: does not exist; give a file or folder of .txt, .jsonl, .parquet")
    if root.is_file() and root.suffix.lower() not in LOCAL_SUFFIXES:
        raise UserError(
            f"{shown}: {root.suffix or 'no suffix'} is not one of .txt, .jsonl, .parquet"
        )
    files = _local_files(root)
    if not files:
        raise UserError(f"{shown}: the folder holds no .txt, .jsonl or .parquet files")
    parts = parse_text_field(src.text_field, _field(where, "text_field", "local"))
    listing = hashlib.sha256()
    formats: dict[str, int] = {}
    file_bytes = 0
    for f in files:
        size = f.stat().st_size
        listing.update(f"{_relative(f, root)}\0{size}\n".encode())
        formats[f.suffix.lower()] = formats.get(f.suffix.lower(), 0) + 1
        file_bytes += size

    def documents() -> Iterator[Document]:
        for f in files:
            rel = _relative(f, root)
            suffix = f.suffix.lower()
            if suffix == ".txt":
                yield from _txt_documents(f, rel, shown)
            elif suffix == ".jsonl":
                yield from _jsonl_documents(f, rel, parts, shown)
            else:
                yield from _parquet_documents(f, rel, parts, shown)

    digest = _Digest()
    docs = _take(documents(), src.max_documents, digest)
    if not docs:
        raise UserError(f"{shown}: no non-empty documents in {len(files)} file(s)")
    provenance = {
        "kind": "local",
        "path": str(root.resolve()),
        "files": len(files),
        "formats": formats,
        "file_bytes": file_bytes,
        "files_sha256": listing.hexdigest(),
        "text_field": src.text_field,
        "max_documents": src.max_documents,
        "render": RENDER_VERSION,
        **digest.summary(),
    }
    return docs, provenance


# ---- Hugging Face datasets ---------------------------------------------------------------------


def _is_save_to_disk(path: Path) -> bool:
    return path.is_dir() and (
        (path / "dataset_dict.json").exists()
        or ((path / "state.json").exists() and (path / "dataset_info.json").exists())
    )


def _rows_documents(
    rows: Iterable[dict[str, Any]], name: str, split_name: str, parts: list[Any], label: str
) -> Iterator[Document]:
    for i, record in enumerate(rows):
        doc = _document(f"hf:{name}:{split_name}:{i}", record, parts, f"{label} row {i}")
        if doc is not None:
            yield doc


def _hf_provenance(src: SourceConfig, digest: _Digest, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "hf",
        "dataset": src.dataset,
        "config_name": src.config_name,
        "split": src.split,
        "text_field": src.text_field,
        "max_documents": src.max_documents,
        "render": RENDER_VERSION,
        **extra,
        **digest.summary(),
    }


def _load_hf(
    src: SourceConfig, cache_dir: str | None, where: str | None
) -> tuple[list[Document], dict[str, Any]]:
    label = _field(where, "dataset", "hf")
    if not src.dataset:
        raise UserError(f"{label}: is required for kind=hf (a hub id or a save_to_disk folder)")
    parts = parse_text_field(src.text_field, _field(where, "text_field", "hf"))
    shown = f"{label}={src.dataset!r}"
    local = Path(src.dataset).expanduser()
    if local.exists():
        return _load_hf_local(src, local, parts, shown)
    return _load_hf_hub(src, cache_dir, parts, shown, where)


def _load_hf_local(
    src: SourceConfig, path: Path, parts: list[Any], shown: str
) -> tuple[list[Document], dict[str, Any]]:
    import datasets

    fingerprint = None
    if _is_save_to_disk(path):
        try:
            ds = datasets.load_from_disk(str(path))
        except Exception as exc:  # noqa: BLE001 - one clear line for any unreadable folder
            raise UserError(
                f"{shown}: not a readable save_to_disk folder ({short_error(exc)})"
            ) from None
        if isinstance(ds, datasets.DatasetDict):
            if src.split not in ds:
                raise UserError(
                    f"{shown}: has no split {src.split!r}; set split to one of {', '.join(ds)}"
                )
            ds = ds[src.split]
        missing = [n for _, n in parts if n not in ds.column_names]
        if missing:
            raise UserError(
                f"{shown}: has no column {missing[0]!r} (columns: {', '.join(ds.column_names)}); "
                "set text_field to one of them"
            )
        fingerprint = getattr(ds, "_fingerprint", None)
        rows: Iterable[dict[str, Any]] = ds.select_columns(list(dict.fromkeys(n for _, n in parts)))
        how = "load_from_disk"
    else:
        try:
            rows = datasets.load_dataset(
                str(path), src.config_name, split=src.split, streaming=True
            )
        except Exception as exc:  # noqa: BLE001 - one clear line for any unloadable folder
            why = short_error(exc)
            raise UserError(f"{shown}: could not be loaded as a dataset ({why})") from None
        how = "load_dataset(streaming=True)"
    digest = _Digest()
    try:
        docs = _take(
            _rows_documents(rows, path.name, src.split, parts, shown), src.max_documents, digest
        )
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - a broken file mid-stream is one clear line
        raise UserError(f"{shown}: reading failed ({short_error(exc)})") from None
    if not docs:
        raise UserError(f"{shown}: no non-empty documents in split {src.split!r}")
    return docs, _hf_provenance(
        src, digest, path=str(path.resolve()), loader=how, fingerprint=fingerprint, revision=None
    )


def _hub_revision(dataset: str) -> str | None:
    """The hub commit of ``dataset`` (best effort; None when it cannot be asked)."""
    try:
        from huggingface_hub import HfApi

        return HfApi().dataset_info(dataset, timeout=10).sha
    except Exception:  # noqa: BLE001 - provenance is best effort
        return None


def _stream_hub_rows(src: SourceConfig) -> Iterable[dict[str, Any]]:
    import datasets

    return datasets.load_dataset(src.dataset, src.config_name, split=src.split, streaming=True)


def _load_hf_hub(
    src: SourceConfig, cache_dir: str | None, parts: list[Any], shown: str, where: str | None
) -> tuple[list[Document], dict[str, Any]]:
    from scaling.core.io import atomic_write_bytes
    from scaling.data.cache import cache_root, cached_documents, key_hash

    if not src.max_documents:
        raise UserError(
            f"{_field(where, 'max_documents', 'hf')}: is required for a hub dataset "
            f"({src.dataset!r} is streamed and its first max_documents rows taken), e.g. 20000"
        )
    key = {
        "loader": RENDER_VERSION,
        "dataset": src.dataset,
        "config_name": src.config_name,
        "split": src.split,
        "text_field": src.text_field,
        "max_documents": src.max_documents,
    }
    path = cache_root(cache_dir) / f"hf-{key_hash(key)}.jsonl.gz"
    side = path.with_name(path.name.replace(".jsonl.gz", ".provenance.json"))
    built: dict[str, Any] = {}
    if not path.exists():
        reason = hub_unreachable_reason()
        if reason is not None:
            raise UserError(
                offline_message(
                    shown,
                    reason,
                    "use a local copy (kind=local or a save_to_disk path)",
                )
            )

        def build() -> list[Document]:
            t0 = time.perf_counter()
            try:
                rows = _stream_hub_rows(src)
                name = str(src.dataset)
                docs = _take(
                    _rows_documents(rows, name, src.split, parts, shown),
                    src.max_documents,
                    _Digest(),
                )
            except UserError:
                raise
            except Exception as exc:  # noqa: BLE001 - hub errors (gated, missing split) in one line
                raise UserError(
                    f"{shown}: could not be loaded from the hub ({short_error(exc)})"
                ) from None
            if not docs:
                raise UserError(f"{shown}: no non-empty documents in split {src.split!r}")
            built["revision"] = _hub_revision(str(src.dataset))
            built["download_seconds"] = round(time.perf_counter() - t0, 3)
            return docs

        docs, _ = cached_documents("hf", key, build, cache_dir)
        if built:
            atomic_write_bytes(side, json.dumps(built, sort_keys=True).encode())
    else:
        docs, _ = cached_documents("hf", key, list, cache_dir)
    extra = json.loads(side.read_text()) if side.exists() else {}
    digest = _Digest()
    for d in docs:
        digest.add(d)
    return docs, _hf_provenance(
        src,
        digest,
        loader="load_dataset(streaming=True)",
        revision=extra.get("revision"),
        cache_file=str(path),
    )
