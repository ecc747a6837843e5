"""Hugging Face datasets as documents (``kind=hf``): ``save_to_disk`` folders, local data
folders and hub ids.

``src.dataset`` is one of:

- a directory written by ``Dataset.save_to_disk``/``DatasetDict.save_to_disk``, read with
  ``datasets.load_from_disk`` (not cached);
- a local data directory or file that ``datasets.load_dataset`` understands, streamed from the
  files (not cached);
- a hub id, streamed with ``datasets.load_dataset(..., streaming=True)``: the first
  ``src.max_documents`` rows of ``src.split`` of ``src.config_name`` at ``src.revision`` (a
  commit sha, tag or branch; None = the hub's main at download time) are taken and kept in the
  content-addressed cache (``scaling.data.cache``, keyed with the revision when one is pinned),
  so later runs and parallel workers read them offline. The provenance records the pinned
  revision (``pinned_revision``) and the commit the hub resolved (``revision``, best effort).

Ids are ``hf:<name>:<split>:<row index>``, ``<name>`` being the hub id or the local directory's
name. Without a network a hub id fails within seconds with one line (``UserError``): the hub's
reachability is asked of ``scaling.core.hub`` first (``HF_HUB_OFFLINE=1`` or
``HF_DATASETS_OFFLINE=1`` means offline). A hub dataset already in the cache needs no network.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from scaling.core.config import SourceConfig
from scaling.core.errors import UserError
from scaling.core.hub import hub_unreachable_reason, offline_message, short_error
from scaling.core.io import atomic_write_bytes
from scaling.data.cache import cache_root, cached_documents, key_hash
from scaling.data.documents import Document
from scaling.data.external.provenance import RENDER_VERSION, Digest, field_label, take
from scaling.data.external.render import document, parse_text_field

# Seconds to wait for the hub's revision of a dataset (best-effort provenance): huggingface_hub's
# own default for a request (``huggingface_hub.constants.DEFAULT_REQUEST_TIMEOUT``, 10 s in 2.4).
_REVISION_TIMEOUT_SECONDS = 10

__all__ = ["load_hf"]


def _is_save_to_disk(path: Path) -> bool:
    return path.is_dir() and (
        (path / "dataset_dict.json").exists()
        or ((path / "state.json").exists() and (path / "dataset_info.json").exists())
    )


def _rows_documents(
    rows: Iterable[dict[str, Any]], name: str, split_name: str, parts: list[Any], label: str
) -> Iterator[Document]:
    for i, record in enumerate(rows):
        doc = document(f"hf:{name}:{split_name}:{i}", record, parts, f"{label} row {i}")
        if doc is not None:
            yield doc


def _hf_provenance(src: SourceConfig, digest: Digest, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "hf",
        "dataset": src.dataset,
        "config_name": src.config_name,
        "split": src.split,
        "text_field": src.text_field,
        "max_documents": src.max_documents,
        "pinned_revision": src.revision,
        "render": RENDER_VERSION,
        **extra,
        **digest.summary(),
    }


def load_hf(
    src: SourceConfig, cache_dir: str | None, where: str | None
) -> tuple[list[Document], dict[str, Any]]:
    """Every document of an ``hf`` source (a local folder or a hub id), and its provenance."""
    label = field_label(where, "dataset", "hf")
    if not src.dataset:
        raise UserError(f"{label}: is required for kind=hf (a hub id or a save_to_disk folder)")
    parts = parse_text_field(src.text_field, field_label(where, "text_field", "hf"))
    shown = f"{label}={src.dataset!r}"
    local = Path(src.dataset).expanduser()
    if local.exists():
        if src.revision is not None:
            raise UserError(
                f"{field_label(where, 'revision', 'hf')}={src.revision!r}: pins a hub id, but "
                f"{shown} is a local path; set revision to null"
            )
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
    digest = Digest()
    try:
        docs = take(
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


def _hub_revision(dataset: str, revision: str | None = None) -> str | None:
    """The hub commit of ``dataset`` at ``revision`` (None: main); best effort, None when it
    cannot be asked."""
    try:
        from huggingface_hub import HfApi

        info = HfApi().dataset_info(dataset, revision=revision, timeout=_REVISION_TIMEOUT_SECONDS)
        return info.sha
    except Exception:  # noqa: BLE001 - provenance is best effort
        return None


def _stream_hub_rows(src: SourceConfig) -> Iterable[dict[str, Any]]:
    import datasets

    return datasets.load_dataset(
        src.dataset, src.config_name, split=src.split, streaming=True, revision=src.revision
    )


def _download(
    src: SourceConfig, parts: list[Any], shown: str, built: dict[str, Any]
) -> list[Document]:
    """The first ``max_documents`` documents streamed from the hub; fills ``built`` with the
    revision and download time (written next to the cache entry)."""
    t0 = time.perf_counter()
    try:
        rows = _stream_hub_rows(src)
        name = str(src.dataset)
        docs = take(
            _rows_documents(rows, name, src.split, parts, shown), src.max_documents, Digest()
        )
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - hub errors (gated, missing split) in one line
        raise UserError(f"{shown}: could not be loaded from the hub ({short_error(exc)})") from None
    if not docs:
        raise UserError(f"{shown}: no non-empty documents in split {src.split!r}")
    built["revision"] = _hub_revision(str(src.dataset), src.revision)
    built["download_seconds"] = round(time.perf_counter() - t0, 3)
    return docs


def _hub_cache(
    src: SourceConfig, cache_dir: str | None, where: str | None
) -> tuple[dict[str, Any], Path]:
    """The cache key of a hub source and the file its documents are cached in."""
    if not src.max_documents:
        raise UserError(
            f"{field_label(where, 'max_documents', 'hf')}: is required for a hub dataset "
            f"({src.dataset!r} is streamed and its first max_documents rows taken), e.g. 20000"
        )
    key = {
        "loader": RENDER_VERSION,
        "dataset": src.dataset,
        "config_name": src.config_name,
        "split": src.split,
        "text_field": src.text_field,
        "max_documents": src.max_documents,
        # only when pinned: the cache files of unpinned sources keep their names
        **({"revision": src.revision} if src.revision is not None else {}),
    }
    return key, cache_root(cache_dir) / f"hf-{key_hash(key)}.jsonl.gz"


def check_hf(src: SourceConfig, cache_dir: str | None, where: str | None) -> None:
    """The checks of ``load_hf`` that need no download: a dataset is named, and a hub id is
    either cached or the hub is reachable."""
    label = field_label(where, "dataset", "hf")
    if not src.dataset:
        raise UserError(f"{label}: is required for kind=hf (a hub id or a save_to_disk folder)")
    parse_text_field(src.text_field, field_label(where, "text_field", "hf"))
    if Path(src.dataset).expanduser().exists():
        return
    _, path = _hub_cache(src, cache_dir, where)
    reason = None if path.exists() else hub_unreachable_reason()
    if reason is not None:
        shown = f"{label}={src.dataset!r}"
        hint = "use a local copy (kind=local or a save_to_disk path)"
        raise UserError(offline_message(shown, reason, hint))


def _load_hf_hub(
    src: SourceConfig, cache_dir: str | None, parts: list[Any], shown: str, where: str | None
) -> tuple[list[Document], dict[str, Any]]:
    key, path = _hub_cache(src, cache_dir, where)
    side = path.with_name(path.name.replace(".jsonl.gz", ".provenance.json"))
    built: dict[str, Any] = {}
    if not path.exists():
        reason = hub_unreachable_reason()
        if reason is not None:
            raise UserError(
                offline_message(
                    shown, reason, "use a local copy (kind=local or a save_to_disk path)"
                )
            )
        docs, _ = cached_documents(
            "hf", key, lambda: _download(src, parts, shown, built), cache_dir
        )
        if built:
            atomic_write_bytes(side, json.dumps(built, sort_keys=True).encode())
    else:
        docs, _ = cached_documents("hf", key, list, cache_dir)
    extra = json.loads(side.read_text()) if side.exists() else {}
    digest = Digest()
    for d in docs:
        digest.add(d)
    return docs, _hf_provenance(
        src,
        digest,
        loader="load_dataset(streaming=True)",
        revision=extra.get("revision"),
        cache_file=str(path),
    )
