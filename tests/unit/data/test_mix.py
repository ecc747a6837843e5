"""The frontier mixture (generator=mix) and the answer-token loss (eval domain score=answer)."""

from __future__ import annotations

import collections

import numpy as np
import pytest
import torch

from scaling.core.config import SourceConfig
from scaling.core.errors import UserError
from scaling.data import generators
from scaling.data.stream import build_eval_stream
from scaling.model.transformer import Transformer
from scaling.tokenizers.base import ByteTokenizer
from scaling.train.evaluate import stream_loss

TOK = ByteTokenizer()
SHORT = {"igsm": {"difficulty": 1}, "tool_use": {"difficulty": 1}, "agent": {"difficulty": 1}}


def test_mix_draws_every_kind_and_each_is_verified_by_its_own_generator():
    g = generators.get("mix", base_params=SHORT)
    ex = g.generate(400, seed=3, split="heldout")
    kinds = collections.Counter(e.meta["generator"] for e in ex)
    assert set(kinds) == {"arithmetic", "igsm", "tool_use", "agent"}
    assert all(60 <= k <= 140 for k in kinds.values())  # equal weights, 400 draws
    assert all(g.verify(e, g.completion(e)) for e in ex)
    wrong = [e for e in ex if not g.verify(e, "A: nope\n")]
    assert len(wrong) == len(ex)
    assert all(generators.is_heldout(e) for e in ex)
    assert [e.uid for e in g.generate(400, seed=3, split="heldout")] == [e.uid for e in ex]


def test_mix_with_short_bases_fits_the_ladders_context():
    g = generators.get("mix", base_params=SHORT)
    longest = max(len(g.render(e).encode()) + 1 for e in g.generate(2000, seed=0))
    assert longest <= 128  # configs/model: context 128 under the byte tokenizer


def test_mix_weights_and_bad_parameters():
    g = generators.get("mix", of=["arithmetic", "igsm"], weights=[3, 1])
    kinds = collections.Counter(e.meta["generator"] for e in g.generate(800, seed=0))
    assert kinds["arithmetic"] > 2 * kinds["igsm"]
    for bad in (
        {"of": ["nope"]},
        {"of": ["igsm", "igsm"]},
        {"weights": [1, 2]},
        {"of": ["igsm"], "base_params": {"agent": {}}},
        {"of": ["igsm"], "base_params": {"igsm": {"difficulty": 99}}},
    ):
        with pytest.raises(UserError):
            generators.get("mix", **bad)


def _answer_domain(score):
    return SourceConfig(
        kind="generator",
        generator="mix",
        form="outputs_only",
        score=score,
        params={"base_params": SHORT},
    )


def test_answer_score_masks_everything_but_the_answer_line():
    s = build_eval_stream("answer", _answer_domain("answer"), TOK, 4096, seed=1)
    full = build_eval_stream("answer", _answer_domain(None), TOK, 4096, seed=1)
    assert full.mask is None and s.mask is not None
    assert np.array_equal(s.tokens, full.tokens)  # the same documents, fewer scored targets
    scored = bytes(int(t) for t, m in zip(s.tokens, s.mask, strict=True) if m and t < 256)
    assert b"A: " in scored and 0.05 < s.mask.mean() < 0.6
    text = TOK.decode([int(t) for t in s.tokens[:400]])
    assert "A: " in text and "?" in text  # prompts are in the stream, only not scored


def test_stream_loss_scores_only_masked_targets():
    from scaling.core.flops import Shape

    torch.manual_seed(0)
    model = Transformer(Shape(1, 8, 1, 32, 64, TOK.vocab_size, True))
    tb = TOK.token_bytes()
    s = build_eval_stream("answer", _answer_domain("answer"), TOK, 2048, seed=1)
    full = build_eval_stream("answer", _answer_domain(None), TOK, 2048, seed=1)
    a = stream_loss(model, s, tb, batch_size=4)
    b = stream_loss(model, full, tb, batch_size=4)
    assert a["tokens"] < b["tokens"] and a["loss"] != pytest.approx(b["loss"])


def test_score_is_validated():
    with pytest.raises(UserError, match="score"):
        SourceConfig(kind="generator", score="prompt").validate("eval.domains.x")
    with pytest.raises(UserError, match="kind=generator"):
        SourceConfig(kind="installed_docs", score="answer").validate("eval.domains.x")
