"""Data: deterministic mining, split by document, packing, repetition and masks."""

import numpy as np
import pytest

from scaling.core.config import DataConfig, SourceConfig
from scaling.data import installed_docs
from scaling.data.documents import Document
from scaling.data.sources import open_source
from scaling.data.stream import build_eval_stream, build_train_stream, encode_document
from scaling.tokenizers.base import ByteTokenizer

WEB = SourceConfig(kind="installed_docs", packages=["stdlib"])
TOK = ByteTokenizer()


def _docs(split, seed=0):
    return list(open_source("web", WEB, split, seed=seed).documents)


def test_clean_paragraphs_keeps_prose_drops_code():
    text = """Return the sum of the values in the sequence, ignoring missing entries entirely.

    >>> total([1, 2])
    3

    .. versionadded:: 3.2

    x = f(y) + g[z] ** 2 == {a: b}
    """
    paras = installed_docs.clean_paragraphs(text)
    assert paras == [
        "Return the sum of the values in the sequence, ignoring missing entries entirely."
    ]


def test_mining_is_deterministic_and_recorded():
    a = open_source("web", WEB, "train", seed=0)
    b = open_source("web", WEB, "train", seed=0)
    assert a.provenance["content_sha256"] == b.provenance["content_sha256"]
    assert a.provenance["versions"]["python"]
    assert [d.doc_id for d in a.documents] == [d.doc_id for d in b.documents]


def test_train_and_heldout_are_disjoint_documents():
    train, held = _docs("train"), _docs("heldout")
    assert held and train
    assert not {d.doc_id for d in train} & {d.doc_id for d in held}
    assert not {d.text for d in train} & {d.text for d in held}
    assert 0.02 < len(held) / (len(train) + len(held)) < 0.10


def test_no_heldout_text_in_training_stream():
    data = DataConfig(name="web", mixture={"web": WEB})
    stream = build_train_stream(data, TOK, 200_000, seed=0)
    train_bytes = bytes(stream.tokens[stream.tokens < 256].astype(np.uint8))
    for doc in _docs("heldout")[:20]:
        probe = doc.text[:200].encode()
        assert probe not in train_bytes


def test_stream_length_seed_and_repetition():
    data = DataConfig(name="web", mixture={"web": WEB})
    a = build_train_stream(data, TOK, 50_000, seed=0)
    b = build_train_stream(data, TOK, 50_000, seed=0)
    c = build_train_stream(data, TOK, 50_000, seed=1)
    assert len(a.tokens) == 50_001
    assert np.array_equal(a.tokens, b.tokens)
    assert not np.array_equal(a.tokens, c.tokens)
    assert a.epochs == 1.0
    capped = DataConfig(name="web", mixture={"web": WEB}, unique_tokens=10_000)
    r = build_train_stream(capped, TOK, 50_000, seed=0)
    assert len(r.tokens) == 50_001
    assert r.unique_tokens >= 10_000
    assert r.epochs == pytest.approx(50_000 / r.unique_tokens)
    assert r.epochs > 3


def test_encode_document_masks_by_role():
    doc = Document(
        "d",
        "Q: 1+1\nstep\nA: 2\n",
        (("Q: 1+1\n", "prompt"), ("step\n", "trace"), ("A: 2\n", "answer")),
    )
    full = encode_document(doc, TOK, "all")
    assert full.mask.all() and full.tokens[-1] == TOK.eos_id
    ans = encode_document(doc, TOK, "answer")
    supervised = bytes(full.tokens[:-1][ans.mask[:-1]].astype(np.uint8)).decode()
    assert supervised == "A: 2\n"
    ta = encode_document(doc, TOK, "trace_and_answer")
    assert bytes(full.tokens[:-1][ta.mask[:-1]].astype(np.uint8)).decode() == "step\nA: 2\n"


def test_batches_are_shifted_windows():
    data = DataConfig(name="web", mixture={"web": WEB})
    s = build_train_stream(data, TOK, 4 * 16 * 3, seed=0)
    x, y, m = s.batch(1, 4, 16)
    assert x.shape == (4, 16) and m is None
    flat = s.tokens[64 : 64 + 65]
    assert np.array_equal(x.reshape(-1), flat[:-1]) and np.array_equal(y.reshape(-1), flat[1:])


def test_eval_stream_is_fixed():
    a = build_eval_stream("web", WEB, TOK, 4096, seed=1234)
    b = build_eval_stream("web", WEB, TOK, 4096, seed=1234)
    assert np.array_equal(a.tokens, b.tokens) and len(a.tokens) == 4097
