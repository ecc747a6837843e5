"""A pretrained tokenizer's ``revision`` reaches every hub download and ``AutoTokenizer``, and
is recorded; a local tokenizer takes none. No network: the hub calls are replaced."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from scaling.core import hub
from scaling.core.config import DataConfig, SourceConfig
from scaling.core.errors import UserError
from scaling.data import tokenizer as bpe
from scaling.data.tokenizer import build_tokenizer
from tests.unit.data.test_external import make_txt_folder


@pytest.fixture(scope="module")
def tokenizer_json(tmp_path_factory) -> Path:
    """A small byte-level BPE saved as tokenizer.json (what a hub repository holds)."""
    root = tmp_path_factory.mktemp("pretrained")
    corpus = make_txt_folder(root / "corpus", n=40, words=40)
    data = DataConfig(name="c", mixture={"c": SourceConfig(kind="local", path=str(corpus))})
    tok = bpe.build("bpe", vocab_size=300, data=data, seed=0, cache_dir=str(root / "cache"))
    path = root / "tokenizer.json"
    path.write_text(tok._tk.to_str(), encoding="utf-8")
    return path


def _fake_download(monkeypatch, found: dict[str, Path]) -> list[tuple[str, str | None, bool]]:
    """``hf_hub_download`` serving ``found`` (file name -> path); returns its calls."""
    import huggingface_hub

    calls: list[tuple[str, str | None, bool]] = []

    def fake(repo_id, filename, *, revision=None, local_files_only=False, **kw):
        calls.append((filename, revision, local_files_only))
        if filename not in found:
            raise FileNotFoundError(filename)
        return str(found[filename])

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake)
    monkeypatch.setattr(hub, "hub_unreachable_reason", lambda: None)
    return calls


def test_revision_reaches_the_hub_download_and_is_recorded(monkeypatch, tokenizer_json):
    calls = _fake_download(monkeypatch, {"tokenizer.json": tokenizer_json})
    tok = build_tokenizer("pretrained", name="org/tok", revision="v2")
    assert calls and all(rev == "v2" for _, rev, _ in calls)
    assert calls[0] == ("tokenizer.json", "v2", True)  # the local cache first, at the revision
    assert tok.provenance["revision"] == "v2"
    unpinned = build_tokenizer("pretrained", name="org/tok")
    assert unpinned.provenance["revision"] is None and calls[-1][1] is None
    assert unpinned.fingerprint() == tok.fingerprint()  # the token cache keys on content


def test_revision_reaches_autotokenizer(monkeypatch, tokenizer_json):
    """A repository without tokenizer.json is read with transformers.AutoTokenizer."""
    from tokenizers import Tokenizer

    calls = _fake_download(monkeypatch, {})
    seen: list[dict] = []

    class AutoTokenizer:
        @staticmethod
        def from_pretrained(name, **kw):
            seen.append({"name": name, **kw})
            return types.SimpleNamespace(
                is_fast=True,
                backend_tokenizer=Tokenizer.from_file(str(tokenizer_json)),
                eos_token=None,
            )

    monkeypatch.setitem(
        sys.modules, "transformers", types.SimpleNamespace(AutoTokenizer=AutoTokenizer)
    )
    tok = build_tokenizer("pretrained", name="org/tok", revision="abc123")
    assert seen == [{"name": "org/tok", "revision": "abc123"}]
    assert calls and all(rev == "abc123" for _, rev, _ in calls)
    assert tok.provenance["revision"] == "abc123"


def test_revision_of_a_local_tokenizer_is_refused_in_one_line(tokenizer_json):
    with pytest.raises(UserError) as info:
        build_tokenizer("pretrained", name=str(tokenizer_json), revision="v1")
    msg = str(info.value)
    assert msg.startswith("tokenizer.revision='v1': pins a hub repository") and "\n" not in msg
