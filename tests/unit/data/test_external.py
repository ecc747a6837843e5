"""External sources: local files and Hugging Face datasets, split by document, offline errors.

No network: hub access is either refused (HF_HUB_OFFLINE=1, a failing resolver) or replaced by a
fake stream; everything else is built in tmp_path.
"""

from __future__ import annotations

import gzip
import json
import math
import random
import shutil
import socket
from pathlib import Path

import pytest
import yaml

from scaling.core import hub
from scaling.core.config import DataConfig, EvalConfig, SourceConfig
from scaling.core.errors import UserError
from scaling.data import external
from scaling.data.external import hf as external_hf
from scaling.data.sources import open_source
from tests.conftest import REPO

CONFIGS = REPO / "configs"
_VOCAB = (
    "the of and to in that is was he for it with as his on be at by had are but from or have "
    "an they which one were her all she there would their we him been has when who will more "
    "if out so said what up its about into than them can only other new some could time these "
    "two may then do first any my now such like our over man even most made after also did "
    "many before must through back years where much your way well down should because each "
    "just those people how too little state good very make world still own see men work long "
    "get here between both life being under never day same another know while last might great"
)
WORDS = tuple(_VOCAB.split())


def prose(rng: random.Random, n_words: int) -> str:
    """Deterministic English-like text with punctuation, digits and a little non-ASCII."""
    out = []
    for i in range(n_words):
        w = rng.choice(WORDS)
        if i % 11 == 0:
            w = w.capitalize()
        if rng.random() < 0.03:
            w = rng.choice(["café", "naïve", "東京", "🙂", str(rng.randint(0, 999))])
        out.append(w + ("." if rng.random() < 0.08 else ""))
    return " ".join(out)


def make_txt_folder(root: Path, n: int = 200, words: int = 60, seed: int = 0) -> Path:
    rng = random.Random(seed)
    for i in range(n):
        sub = root / f"part{i % 3}" / ("deep" if i % 2 else "")
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"doc{i:03d}.txt").write_text(prose(rng, words), encoding="utf-8")
    (root / ".hidden.txt").write_text("never read", encoding="utf-8")
    (root / "notes.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    return root


@pytest.fixture
def txt_folder(tmp_path):
    return make_txt_folder(tmp_path / "corpus")


def _ids(docs):
    return [d.doc_id for d in docs]


def _check_split(docs):
    train, held = external.split(docs, "train"), external.split(docs, "heldout")
    assert train and held
    assert not set(_ids(train)) & set(_ids(held))
    assert len(train) + len(held) == len(docs)
    return train, held


# ---- local -------------------------------------------------------------------------------------


def test_local_txt_folder_loads_splits_and_records(txt_folder):
    docs, prov = external.load(SourceConfig(kind="local", path=str(txt_folder)))
    assert len(docs) == 200  # hidden files and other suffixes are skipped
    assert docs[0].doc_id == "part0/deep/doc003.txt"  # sorted by relative path
    assert _ids(docs) == sorted(_ids(docs))
    assert all(d.segments is None for d in docs)
    _check_split(docs)
    again, prov2 = external.load(SourceConfig(kind="local", path=str(txt_folder)))
    assert _ids(again) == _ids(docs) and prov2 == prov
    assert prov["kind"] == "local" and prov["files"] == 200 and prov["documents"] == 200
    assert prov["formats"] == {".txt": 200}
    assert prov["bytes"] == sum(len(d.text.encode()) for d in docs)
    assert prov["split_bytes"] == sum(len(d.text.encode()) for d in external.split(docs, "train"))
    assert len(prov["content_sha256"]) == 64 and len(prov["files_sha256"]) == 64


def test_local_ids_do_not_depend_on_where_the_folder_is(txt_folder, tmp_path):
    moved = shutil.copytree(txt_folder, tmp_path / "elsewhere" / "copy")
    a, pa_ = external.load(SourceConfig(kind="local", path=str(txt_folder)))
    b, pb = external.load(SourceConfig(kind="local", path=str(moved)))
    assert _ids(a) == _ids(b)
    assert pa_["content_sha256"] == pb["content_sha256"]
    assert pa_["files_sha256"] == pb["files_sha256"]
    assert pa_["path"] != pb["path"]


def test_local_jsonl_one_document_per_line(tmp_path):
    rng = random.Random(1)
    path = tmp_path / "c.jsonl"
    lines = [json.dumps({"text": prose(rng, 20), "id": i}) for i in range(300)]
    lines.insert(5, "")  # blank lines are skipped but keep line numbers stable
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    docs, prov = external.load(SourceConfig(kind="local", path=str(path)))
    assert len(docs) == 300 and prov["formats"] == {".jsonl": 1}
    assert docs[0].doc_id == "c.jsonl#0" and docs[5].doc_id == "c.jsonl#6"
    _check_split(docs)
    with pytest.raises(UserError) as info:
        external.load(SourceConfig(kind="local", path=str(path), text_field="body"))
    msg = str(info.value)
    assert "no field 'body'" in msg and "id, text" in msg and "\n" not in msg
    (tmp_path / "bad.jsonl").write_text('{"text": "ok"}\nnot json\n', encoding="utf-8")
    with pytest.raises(UserError, match=r"bad.jsonl line 2 is not JSON"):
        external.load(SourceConfig(kind="local", path=str(tmp_path / "bad.jsonl")))


def test_local_parquet_rows_in_batches(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(2)
    texts = [prose(rng, 8) for _ in range(2500)]  # more rows than one read batch
    pq.write_table(
        pa.table({"body": texts, "n": list(range(2500))}),
        tmp_path / "t.parquet",
        row_group_size=700,
    )
    src = SourceConfig(kind="local", path=str(tmp_path / "t.parquet"), text_field="body")
    docs, _ = external.load(src)
    assert [d.text for d in docs] == texts
    assert docs[2499].doc_id == "t.parquet#2499"
    _check_split(docs)
    with pytest.raises(UserError, match=r"no column 'text' \(columns: body, n\)"):
        external.load(SourceConfig(kind="local", path=str(tmp_path / "t.parquet")))


def test_local_mixed_folder_and_max_documents(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = make_txt_folder(tmp_path / "mixed", n=5)
    (root / "b.jsonl").write_text('{"text": "one line"}\n{"text": "two"}\n', encoding="utf-8")
    pq.write_table(pa.table({"text": ["row a", "row b", ""]}), root / "c.parquet")
    docs, prov = external.load(SourceConfig(kind="local", path=str(root)))
    assert prov["formats"] == {".txt": 5, ".jsonl": 1, ".parquet": 1}
    assert "b.jsonl#1" in _ids(docs) and "c.parquet#1" in _ids(docs)
    assert len(docs) == 5 + 2 + 2  # the empty row is not a document
    few, prov = external.load(SourceConfig(kind="local", path=str(root), max_documents=3))
    assert _ids(few) == _ids(docs)[:3] and prov["documents"] == 3


def test_local_bad_paths_are_one_line_errors(tmp_path):
    with pytest.raises(UserError, match=r"path='/no/such/corpus': does not exist"):
        external.load(SourceConfig(kind="local", path="/no/such/corpus"))
    (tmp_path / "x.docx").write_bytes(b"PK")
    with pytest.raises(UserError, match=r"\.docx is not one of \.txt, \.jsonl, \.parquet"):
        external.load(SourceConfig(kind="local", path=str(tmp_path / "x.docx")))
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match=r"holds no \.txt, \.jsonl or \.parquet files"):
        external.load(SourceConfig(kind="local", path=str(tmp_path / "empty")))
    with pytest.raises(UserError, match=r"where\.path="):
        external.load(SourceConfig(kind="local", path="/no/such"), where="where")


def test_open_source_shuffles_local_documents_by_seed(txt_folder):
    src = SourceConfig(kind="local", path=str(txt_folder))
    a = list(open_source("mine", src, "train", seed=0).documents)
    b = list(open_source("mine", src, "train", seed=0).documents)
    c = list(open_source("mine", src, "train", seed=1).documents)
    held = list(open_source("mine", src, "heldout", seed=0).documents)
    assert _ids(a) == _ids(b) and _ids(a) != _ids(c) and sorted(_ids(a)) == sorted(_ids(c))
    assert not set(_ids(a)) & set(_ids(held))


# ---- rendering ---------------------------------------------------------------------------------


def test_openai_style_trace_with_tool_calls_renders_with_markers():
    record = {
        "messages": [
            {"role": "system", "content": "You can search."},
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"function": {"name": "weather", "arguments": '{"city": "Paris"}'}}],
            },
            {"role": "tool", "content": '{"temp": 21}'},
            {"role": "assistant", "content": "It is 21 degrees."},
        ]
    }
    parts = external.parse_text_field("messages", "text_field")
    text, segments = external.render_record(record, parts, where="test")
    assert text == (
        "<|system|> You can search.\n"
        "<|user|> Weather in Paris?\n"
        '<|tool_call|> {"name": "weather", "arguments": {"city": "Paris"}}\n'
        '<|tool|> {"temp": 21}\n'
        "<|assistant|> It is 21 degrees.\n"
    )
    assert "".join(t for t, _ in segments) == text
    assert [r for _, r in segments] == ["prompt", "prompt", "trace", "prompt", "answer"]


def test_role_field_parts_render_question_answer_and_tool_calls():
    gsm = {"question": "2+3?", "answer": "2+3=5\n#### 5"}
    parts = external.parse_text_field("user:question,assistant:answer", "f")
    text, segments = external.render_record(gsm, parts, where="t")
    assert text == "<|user|> 2+3?\n<|assistant|> 2+3=5\n#### 5\n"
    assert [r for _, r in segments] == ["prompt", "answer"]
    xlam = {
        "query": "Add 1 and 2",
        "tools": '[{"name": "add"}]',
        "answers": '[{"name": "add", "arguments": {"a": 1, "b": 2}}]',
    }
    parts = external.parse_text_field("system:tools,user:query,tool_call:answers", "f")
    text, _ = external.render_record(xlam, parts, where="t")
    assert text.endswith('<|tool_call|> {"name": "add", "arguments": {"a": 1, "b": 2}}\n')
    assert text.startswith('<|system|> [{"name": "add"}]\n<|user|> Add 1 and 2\n')
    with pytest.raises(UserError, match=r"role one of system, user, assistant, tool, tool_call"):
        external.parse_text_field("boss:query", "data.mixture.x.text_field")


# ---- hf: local save_to_disk folders ------------------------------------------------------------


def test_save_to_disk_dataset_loads_splits_and_records(tmp_path):
    import datasets

    rng = random.Random(3)
    texts = [prose(rng, 15) for _ in range(300)]
    datasets.Dataset.from_dict({"text": texts, "k": list(range(300))}).save_to_disk(tmp_path / "ds")
    src = SourceConfig(kind="hf", dataset=str(tmp_path / "ds"))
    docs, prov = external.load(src)
    assert [d.text for d in docs] == texts
    assert docs[7].doc_id == "hf:ds:train:7"
    _check_split(docs)
    again, prov2 = external.load(src)
    assert _ids(again) == _ids(docs) and prov2["content_sha256"] == prov["content_sha256"]
    assert prov["kind"] == "hf" and prov["loader"] == "load_from_disk"
    assert prov["fingerprint"] and prov["documents"] == 300
    assert prov["bytes"] == sum(len(t.encode()) for t in texts)


def test_save_to_disk_dataset_dict_split_and_chat_rendering(tmp_path):
    import datasets

    conv = [
        [
            {"from": "system", "value": "Think step by step."},
            {"from": "human", "value": f"What is {i} + {i}?"},
            {"from": "gpt", "value": f"{i} + {i} = {2 * i}. The answer is {2 * i}."},
        ]
        for i in range(120)
    ]
    dd = datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict({"conversations": conv}),
            "test": datasets.Dataset.from_dict({"conversations": conv[:5]}),
        }
    )
    dd.save_to_disk(tmp_path / "chat")
    src = SourceConfig(kind="hf", dataset=str(tmp_path / "chat"), text_field="conversations")
    docs, _ = external.load(src)
    assert len(docs) == 120
    d = docs[3]
    assert d.text == (
        "<|system|> Think step by step.\n<|user|> What is 3 + 3?\n"
        "<|assistant|> 3 + 3 = 6. The answer is 6.\n"
    )
    assert [r for _, r in d.segments] == ["prompt", "prompt", "answer"]
    _check_split(docs)
    test_docs, _ = external.load(
        SourceConfig(
            kind="hf", dataset=str(tmp_path / "chat"), split="test", text_field="conversations"
        )
    )
    assert len(test_docs) == 5 and test_docs[0].doc_id == "hf:chat:test:0"
    with pytest.raises(
        UserError, match=r"has no split 'validation'; set split to one of train, test"
    ):
        external.load(SourceConfig(kind="hf", dataset=str(tmp_path / "chat"), split="validation"))
    with pytest.raises(UserError, match=r"has no column 'text' \(columns: conversations\)"):
        external.load(SourceConfig(kind="hf", dataset=str(tmp_path / "chat")))


# ---- hf: hub ids -------------------------------------------------------------------------------


def _preset_source(name: str) -> SourceConfig:
    raw = yaml.safe_load((CONFIGS / "data" / f"{name}.yaml").read_text())
    (entry,) = raw["mixture"].values()
    return SourceConfig(**entry)


def test_hub_preset_offline_fails_fast_with_one_line(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    src = _preset_source("hf_fineweb_edu")
    with pytest.raises(UserError) as info:
        external.load(src, where="data.mixture.fineweb_edu")
    msg = str(info.value)
    assert msg.startswith("data.mixture.fineweb_edu.dataset='HuggingFaceFW/fineweb-edu': ")
    assert "the Hugging Face hub is unreachable" in msg and "kind=local" in msg
    assert "\n" not in msg and "Traceback" not in msg
    with pytest.raises(UserError, match=r"dataset='HuggingFaceFW/fineweb-edu': the Hugging Face"):
        open_source("fineweb_edu", src, "train", seed=0)


def test_probe_reports_a_failing_resolver(monkeypatch):
    def no_dns(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "https://hub.example.invalid")
    monkeypatch.setattr(hub, "_probe_memo", {})
    assert hub.probe_host("huggingface.co") == "DNS lookup of huggingface.co failed"
    assert hub.hub_unreachable_reason() == "DNS lookup of hub.example.invalid failed"
    src = SourceConfig(kind="hf", dataset="org/name", max_documents=10)
    with pytest.raises(
        UserError, match=r"unreachable \(DNS lookup of hub.example.invalid failed\)"
    ):
        external.load(src)


def test_hub_rows_are_streamed_once_then_cached(monkeypatch, tmp_path):
    calls = []

    def fake_stream(src):
        calls.append(src.dataset)
        for i in range(10_000):
            yield {"question": f"q{i}", "answer": f"a{i}" if i % 50 else ""}

    monkeypatch.setattr(external_hf, "hub_unreachable_reason", lambda: None)
    monkeypatch.setattr(external_hf, "_stream_hub_rows", fake_stream)
    monkeypatch.setattr(external_hf, "_hub_revision", lambda dataset, revision=None: "0123abcd")
    src = SourceConfig(
        kind="hf", dataset="org/qa", text_field="user:question,assistant:answer", max_documents=400
    )
    docs, prov = external.load(src, cache_dir=str(tmp_path))
    assert len(docs) == 400 and calls == ["org/qa"]
    assert (
        docs[1].text == "<|user|> q1\n<|assistant|> a1\n" and docs[0].doc_id == "hf:org/qa:train:0"
    )
    assert prov["revision"] == "0123abcd"
    with gzip.open(prov["cache_file"], "rt", encoding="utf-8") as fh:  # the rows, rendered
        cached = [json.loads(line) for line in fh if line.strip()]
    assert [(r["id"], r["text"]) for r in cached] == [(d.doc_id, d.text) for d in docs]
    _check_split(docs)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # a cached hub dataset needs no network
    again, prov2 = external.load(src, cache_dir=str(tmp_path))
    assert calls == ["org/qa"] and _ids(again) == _ids(docs)
    assert prov2["content_sha256"] == prov["content_sha256"] and prov2["revision"] == "0123abcd"


def _fake_hub(monkeypatch) -> list[dict]:
    """``datasets.load_dataset`` replaced by a local stream whose rows name the revision asked
    for; returns the list of every call's keyword arguments."""
    import datasets

    calls: list[dict] = []

    def fake_load_dataset(path, name=None, **kwargs):
        calls.append({"path": path, "name": name, **kwargs})
        rev = kwargs.get("revision") or "main"
        return ({"text": f"row {i} of {path} at {rev}. " * 3} for i in range(200))

    monkeypatch.setattr(external_hf, "hub_unreachable_reason", lambda: None)
    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    monkeypatch.setattr(external_hf, "_hub_revision", lambda d, revision=None: f"sha({revision})")
    return calls


def test_hub_revision_reaches_the_loader_the_record_and_the_cache_keys(monkeypatch, tmp_path):
    from scaling.data.stream import build_train_stream
    from scaling.tokenizers.base import ByteTokenizer

    calls = _fake_hub(monkeypatch)
    cache = str(tmp_path)
    pinned = SourceConfig(kind="hf", dataset="org/ds", max_documents=100, revision="v1.2")
    docs, prov = external.load(pinned, cache_dir=cache)
    assert [(c["path"], c["revision"], c["streaming"]) for c in calls] == [("org/ds", "v1.2", True)]
    assert prov["pinned_revision"] == "v1.2" and prov["revision"] == "sha(v1.2)"
    assert docs[0].text.startswith("row 0 of org/ds at v1.2.")
    unpinned = SourceConfig(kind="hf", dataset="org/ds", max_documents=100)
    _, prov_main = external.load(unpinned, cache_dir=cache)
    assert calls[-1]["revision"] is None and len(calls) == 2  # not served the pinned rows
    assert prov_main["pinned_revision"] is None and prov_main["revision"] == "sha(None)"
    assert prov_main["cache_file"] != prov["cache_file"]
    external.load(pinned, cache_dir=cache)
    assert len(calls) == 2  # the pinned rows are cached under their own key
    # the token cache: a pinned revision enters a finite source's shard key
    streams = {
        rev: build_train_stream(
            DataConfig(name="hub", mixture={"hub": src}),
            ByteTokenizer(),
            512,
            seed=0,
            cache_dir=cache,
        )
        for rev, src in (("v1.2", pinned), (None, unpinned))
    }
    assert streams["v1.2"].sources["hub"]["pinned_revision"] == "v1.2"
    assert streams[None].sources["hub"]["pinned_revision"] is None
    shards = sorted(p.name for p in (tmp_path / "tokens").iterdir() if p.is_dir())
    assert len(shards) == 2, shards
    keys = [json.loads(p.read_text())["key"] for p in (tmp_path / "tokens").glob("*/g*/meta.json")]
    assert sorted(k.get("revision", "-") for k in keys) == ["-", "v1.2"]


def test_shard_key_gets_a_revision_only_when_pinned():
    from scaling.data.stream import _shard_key
    from scaling.tokenizers.base import ByteTokenizer

    prov = {"kind": "hf", "content_sha256": "ab" * 32, "documents": 3, "pinned_revision": None}
    plain = _shard_key(prov, "hub", "train", ByteTokenizer())
    assert plain is not None and "revision" not in plain  # unpinned keys are as before
    pinned = _shard_key({**prov, "pinned_revision": "v1"}, "hub", "train", ByteTokenizer())
    assert pinned == {**plain, "revision": "v1"}


def test_revision_of_a_local_dataset_is_refused_in_one_line(txt_folder):
    src = SourceConfig(kind="hf", dataset=str(txt_folder), revision="v1")
    with pytest.raises(UserError) as info:
        external.load(src, where="data.mixture.mine")
    msg = str(info.value)
    assert msg.startswith("data.mixture.mine.revision='v1': pins a hub id") and "\n" not in msg


@pytest.mark.parametrize("bad", ["", "a b", "v1\n", 7])
def test_bad_source_revisions_are_refused_naming_the_field(bad):
    with pytest.raises(UserError) as info:
        DataConfig(
            name="hub",
            mixture={"hub": SourceConfig(kind="hf", dataset="org/ds", revision=bad)},
        )
    msg = str(info.value)
    assert msg.startswith("data.mixture.hub.revision: must be a commit sha, tag or branch")
    assert "\n" not in msg


def test_hub_errors_and_missing_cap_are_one_line(monkeypatch, tmp_path):
    def broken(src):
        raise ValueError("Bad split: dev. Available splits: ['train']\nsecond line")

    monkeypatch.setattr(external_hf, "hub_unreachable_reason", lambda: None)
    monkeypatch.setattr(external_hf, "_stream_hub_rows", broken)
    src = SourceConfig(kind="hf", dataset="org/x", split="dev", max_documents=5)
    with pytest.raises(UserError) as info:
        external.load(src, cache_dir=str(tmp_path))
    assert "could not be loaded from the hub (ValueError: Bad split: dev." in str(info.value)
    assert "\n" not in str(info.value)
    assert not list(tmp_path.glob("hf-*.jsonl.gz"))  # nothing half-written
    with pytest.raises(UserError, match=r"max_documents: is required for a hub dataset"):
        external.load(SourceConfig(kind="hf", dataset="org/x"), cache_dir=str(tmp_path))


def test_hf_presets_are_complete():
    presets = sorted((CONFIGS / "data").glob("hf_*.yaml"))
    assert len(presets) >= 11
    for path in presets:
        raw = yaml.safe_load(path.read_text())
        assert path.read_text().startswith("# "), path.name
        data = DataConfig(
            name=raw["name"],
            mixture={k: SourceConfig(**v) for k, v in raw["mixture"].items()},
            loss_mask=raw["loss_mask"],
            eval_domain=raw["eval_domain"],
        )
        (src,) = data.mixture.values()
        assert src.kind == "hf" and "/" in src.dataset and src.max_documents, path.name
        assert data.eval_domain in ("web", "trace"), path.name
        external.parse_text_field(src.text_field, path.name)


# ---- end to end --------------------------------------------------------------------------------


def _run_on(src: SourceConfig, out_dir: Path, eval_src: SourceConfig | None = None, **changes):
    from scaling.runs.runner import execute
    from tests.conftest import tiny_run

    run = tiny_run(
        data=DataConfig(name="mine", mixture={"mine": src}),
        eval=EvalConfig(
            domains={"web": eval_src or src},
            tasks={},
            tokens_per_domain=256,
            final_tokens_per_domain=512,
            points=1,
        ),
        out_dir=out_dir,
        **changes,
    )
    return execute(run)


def test_training_run_on_a_local_folder_records_its_source(txt_folder, tmp_path):
    rec = _run_on(SourceConfig(kind="local", path=str(txt_folder)), tmp_path / "runs")
    assert rec["status"] == "done" and math.isfinite(rec["val"]["web"]["bpb"])
    src = rec["data_sources"]["mine"]
    assert src["kind"] == "local" and src["path"] == str(txt_folder.resolve())
    assert src["files"] == 200 and len(src["content_sha256"]) == 64
    docs, _ = external.load(SourceConfig(kind="local", path=str(txt_folder)))
    assert src["split_bytes"] == sum(len(d.text.encode()) for d in external.split(docs, "train"))
    # the byte tokenizer: the run's documents took one token per byte and one end-of-document
    # token each, so the pool is the split's bytes scaled by that tokens-per-byte ratio
    took, n_docs = src["unique_tokens"], src["pool_documents"]
    assert rec["pool_tokens"] == pytest.approx(src["split_bytes"] * took / (took - n_docs))
    assert src["split_bytes"] < rec["pool_tokens"] < 1.01 * src["split_bytes"]


def test_training_run_on_a_save_to_disk_dataset_records_its_source(tmp_path):
    import datasets

    rng = random.Random(4)
    datasets.Dataset.from_dict({"text": [prose(rng, 80) for _ in range(200)]}).save_to_disk(
        tmp_path / "ds"
    )
    rec = _run_on(SourceConfig(kind="hf", dataset=str(tmp_path / "ds")), tmp_path / "runs")
    assert rec["status"] == "done" and math.isfinite(rec["loss"])
    src = rec["data_sources"]["mine"]
    assert src["kind"] == "hf" and src["loader"] == "load_from_disk" and src["fingerprint"]
    assert src["documents"] == 200
