"""BPE and pretrained tokenizers: training, cache, exact round trips and bytes per token."""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pytest

from scaling.core.config import DataConfig, EvalConfig, SourceConfig, TokenizerConfig
from scaling.core.errors import UserError
from scaling.data import tokenizer as bpe
from scaling.data.tokenizer import build_tokenizer
from scaling.tokenizers.bpe import byte_alphabet
from tests.unit.data.test_external import make_txt_folder, prose

TRICKY = [
    "",
    " ",
    "Hello, world!",
    "  leading and trailing spaces  ",
    "tabs\tand\r\nwindows newlines\n\n",
    "naïve café, 東京, emoji 🙂👍🏽, combining e\u0301 and NFC é",
    "control \x00\x01\x7f bytes and a literal <|endoftext|> in the text",
    "numbers 3.14159 and 1,000,000 and -42",
    "\u200b zero width and \ufeff BOM",
]


def _random_text(rng: random.Random) -> str:
    pieces = [prose(rng, rng.randint(1, 40))]
    if rng.random() < 0.5:
        pieces.append("".join(chr(rng.randint(32, 0x2FFF)) for _ in range(rng.randint(1, 20))))
    if rng.random() < 0.3:
        pieces.append(chr(rng.randint(0x1F300, 0x1F6FF)))
    return rng.choice([" ", "\n", ""]).join(pieces)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_txt_folder(tmp_path_factory.mktemp("bpe") / "corpus", n=200, words=80)


def _data(path) -> DataConfig:
    return DataConfig(name="mine", mixture={"mine": SourceConfig(kind="local", path=str(path))})


@pytest.fixture(scope="module")
def tok(corpus, tmp_path_factory):
    return bpe.build(
        "bpe",
        vocab_size=400,
        data=_data(corpus),
        seed=0,
        cache_dir=str(tmp_path_factory.mktemp("c")),
    )


def test_byte_alphabet_matches_the_tokenizers_library():
    from tokenizers import pre_tokenizers

    alphabet = byte_alphabet()
    assert sorted(alphabet.values()) == list(range(256))
    assert set(alphabet) == set(pre_tokenizers.ByteLevel.alphabet())


def test_bpe_round_trips_any_text_and_counts_bytes_exactly(tok):
    assert tok.vocab_size == 400 and tok.eos_id == 0
    tb = tok.token_bytes()
    assert tb.shape == (400,) and tb[tok.eos_id] == 1 and (tb >= 1).all()
    rng = random.Random(0)
    for text in TRICKY + [_random_text(rng) for _ in range(200)]:
        ids = tok.encode(text)
        assert ids.dtype == np.uint16
        assert tok.eos_id not in ids.tolist()
        assert tok.decode(ids) == text
        assert int(tb[ids].sum()) == len(text.encode("utf-8"))


def test_bpe_compresses_and_records_provenance(tok, corpus):
    text = (corpus / "part1" / "deep" / "doc001.txt").read_text(encoding="utf-8")
    assert len(tok.encode(text)) / len(text.encode()) < 0.6
    prov = tok.provenance
    assert prov["kind"] == "bpe" and prov["training_bytes"] > 50_000
    assert prov["training_sources"]["mine"]["documents"] > 100
    assert tok.name.startswith("bpe400-mine-") and len(tok.fingerprint()) == 16


def test_bpe_is_built_once_then_read_from_the_cache(corpus, tmp_path):
    data, cache = _data(corpus), str(tmp_path / "cache")
    before = bpe.builds
    a = bpe.build("bpe", vocab_size=300, data=data, seed=0, cache_dir=cache)
    assert bpe.builds == before + 1
    (path,) = (tmp_path / "cache").glob("bpe-*[0-9a-f].json")
    mtime = path.stat().st_mtime_ns
    b = bpe.build("bpe", vocab_size=300, data=data, seed=0, cache_dir=cache)
    assert bpe.builds == before + 1 and path.stat().st_mtime_ns == mtime
    assert a.fingerprint() == b.fingerprint()
    assert a.provenance["train_seconds"] is not None and b.provenance["train_seconds"] is None
    # the same text trains the same model on another machine (a fresh cache)
    c = bpe.build("bpe", vocab_size=300, data=data, seed=0, cache_dir=str(tmp_path / "other"))
    assert c.fingerprint() == a.fingerprint()
    d = bpe.build("bpe", vocab_size=320, data=data, seed=0, cache_dir=cache)
    assert d.fingerprint() != a.fingerprint()
    # one cached model per vocabulary size: a's (read back by b) and d's
    cached = sorted((tmp_path / "cache").glob("bpe-*[0-9a-f].json"))
    assert cached == sorted(Path(t.provenance["cache_file"]) for t in (a, d))
    assert b.provenance["cache_file"] == a.provenance["cache_file"]


def test_small_text_pads_the_vocabulary_to_the_config(tmp_path):
    (tmp_path / "tiny").mkdir()
    (tmp_path / "tiny" / "a.txt").write_text("abc abc abd " * 20, encoding="utf-8")
    tok = bpe.build(
        "bpe", vocab_size=2000, data=_data(tmp_path / "tiny"), seed=0, cache_dir=str(tmp_path)
    )
    assert tok.vocab_size == 2000 and tok.provenance["trained_vocab_size"] < 2000
    assert tok.decode(tok.encode("abd zzz ☃")) == "abd zzz ☃"


def test_bpe_bad_vocab_size_is_a_user_error(corpus, tmp_path):
    with pytest.raises(UserError, match=r"tokenizer.vocab_size=100: must be an integer >= 260"):
        bpe.build("bpe", vocab_size=100, data=_data(corpus), seed=0, cache_dir=str(tmp_path))


# ---- pretrained --------------------------------------------------------------------------------


def _save_pretrained(tok, folder, eos="<|endoftext|>"):
    from transformers import PreTrainedTokenizerFast

    PreTrainedTokenizerFast(tokenizer_object=tok._tk, eos_token=eos).save_pretrained(folder)
    return folder


def test_pretrained_from_a_local_directory(tok, tmp_path):
    folder = _save_pretrained(tok, tmp_path / "my_tok")
    pre = build_tokenizer("pretrained", name=str(folder))
    assert pre.name == "my_tok" and pre.eos_id == tok.eos_id
    assert pre.vocab_size == tok.provenance["trained_vocab_size"]
    assert pre.provenance["eos"] == "<|endoftext|>" and not pre.provenance["eos_appended"]
    tb = pre.token_bytes()
    rng = random.Random(1)
    for text in TRICKY + [_random_text(rng) for _ in range(50)]:
        ids = pre.encode(text)
        assert np.array_equal(ids, tok.encode(text))
        assert pre.decode(ids) == text
        assert int(tb[ids].sum()) == len(text.encode())


def test_pretrained_without_an_eos_token_gets_one_appended(tok, tmp_path):
    # a bare tokenizer.json whose only special token is not a known end-of-document name
    data = tok._tk.to_str().replace("<|endoftext|>", "<|stop|>")
    (tmp_path / "tokenizer.json").write_text(data, encoding="utf-8")
    pre = bpe.build("pretrained", name=str(tmp_path / "tokenizer.json"))
    assert pre.provenance["eos_appended"] and pre.eos_id == pre.vocab_size - 1
    assert pre.token_bytes()[pre.eos_id] == 1
    assert pre.decode(pre.encode("<|stop|> stays text")) == "<|stop|> stays text"


def test_pretrained_that_is_not_byte_level_is_refused(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers

    wp = Tokenizer(models.WordPiece({"[UNK]": 0, "hello": 1, "##s": 2}, unk_token="[UNK]"))
    wp.pre_tokenizer = pre_tokenizers.Whitespace()
    wp.save(str(tmp_path / "wp.json"))
    with pytest.raises(UserError) as info:
        bpe.build("pretrained", name=str(tmp_path / "wp.json"))
    assert "is not a byte-level BPE tokenizer (model WordPiece, pre-tokenizer Whitespace)" in str(
        info.value
    )
    assert "\n" not in str(info.value)


def test_pretrained_hub_id_offline_fails_fast_with_one_line(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError) as info:
        build_tokenizer("pretrained", name="scaling-lab-tests/no-such-tokenizer")
    msg = str(info.value)
    assert msg.startswith("tokenizer.name='scaling-lab-tests/no-such-tokenizer': the Hugging Face")
    assert "unreachable" in msg and "save_pretrained" in msg and "\n" not in msg


def test_vocabularies_beyond_uint16_are_held_exactly():
    """Streams switch to uint32 ids above 65,536 tokens instead of wrapping ids silently."""
    bpe._check_stream_ids(70_000, "tokenizer.name='big'")  # no error: the top id round-trips
    from scaling.data.documents import Document
    from scaling.data.stream import encode_document

    class Big:
        vocab_size, eos_id = 70_000, 69_999

        def encode(self, text):
            return np.array([69_998], dtype=np.uint32)

    enc = encode_document(Document("d", "x"), Big())
    assert enc.tokens.dtype == np.uint32 and enc.tokens.tolist() == [69_998, 69_999]


# ---- end to end --------------------------------------------------------------------------------


def test_training_run_with_bpe_reports_bpb_from_token_bytes(corpus, tmp_path):
    from scaling.data.stream import build_eval_stream
    from scaling.runs.runner import execute
    from tests.conftest import tiny_run

    src = SourceConfig(kind="local", path=str(corpus))
    run = tiny_run(
        data=DataConfig(name="mine", mixture={"mine": src}),
        eval=EvalConfig(
            domains={"web": src},
            tasks={},
            tokens_per_domain=256,
            final_tokens_per_domain=512,
            points=1,
        ),
        tokenizer=TokenizerConfig(kind="bpe", vocab_size=300),
        out_dir=tmp_path / "runs",
    )
    rec = execute(run)
    assert rec["status"] == "done" and rec["vocab_size"] == 300
    assert rec["tokenizer"]["kind"] == "bpe" and rec["tokenizer"]["vocab_size"] == 300
    loss, bpb = rec["val"]["web"]["loss"], rec["val"]["web"]["bpb"]
    assert math.isfinite(loss) and math.isfinite(bpb) and bpb > 0
    # the same tokenizer comes back from the cache; rebuild the scored targets of the final eval
    builds = bpe.builds
    tok = build_tokenizer(
        "bpe", vocab_size=300, name=None, data=run.data, seed=run.seed, cache_dir=None
    )
    assert bpe.builds == builds and tok.fingerprint() == rec["tokenizer"]["fingerprint"]
    T = run.model.context
    stream = build_eval_stream("web", src, tok, 512, seed=run.eval.seed)
    n = min(stream.windows(T), max(1, 512 // T))
    targets = stream.tokens[1 : n * T + 1].astype(np.int64)
    bytes_per_token = tok.token_bytes()[targets].sum() / len(targets)
    assert bytes_per_token > 1.2  # merges: tokens stand for several bytes
    assert loss / bpb == pytest.approx(math.log(2) * bytes_per_token, rel=1e-9)
