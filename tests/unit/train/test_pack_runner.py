"""A run trained in a pack gives the result it gives alone (train.pack_runner.train_pack)."""

from __future__ import annotations

import dataclasses

import pytest

from scaling.core.config import OptimConfig
from scaling.train.pack_runner import train_pack
from scaling.train.trainer import Trainer
from tests.conftest import tiny_run

RTOL = 1e-5  # the packed engine's asserted tolerance (tests/unit/train/test_packed.py)


def _runs(tmp_path):
    base = tiny_run(out_dir=tmp_path)
    return [
        base,
        dataclasses.replace(base, seed=1, optim=OptimConfig(batch_size=4, lr=3e-3)),
        dataclasses.replace(base, seed=2, budget=dataclasses.replace(base.budget, flops=1.3e8)),
    ]


def test_packed_runs_equal_their_solo_runs(tmp_path):
    runs = _runs(tmp_path)
    packed = train_pack(runs)
    for run, got in zip(runs, packed, strict=True):
        want = Trainer(run).run_to_end()
        assert got.steps == want.steps and got.tokens == want.tokens
        assert [r["step"] for r in got.curve] == [r["step"] for r in want.curve]
        assert [r["loss"] for r in got.curve] == pytest.approx(
            [r["loss"] for r in want.curve], rel=RTOL
        )
        assert [r["lr"] for r in got.curve] == [r["lr"] for r in want.curve]
        assert [e["step"] for e in got.evals] == [e["step"] for e in want.evals]
        for domain, m in want.final_eval.items():
            assert got.final_eval[domain]["loss"] == pytest.approx(m["loss"], rel=RTOL)
        assert got.train_loss == pytest.approx(want.train_loss, rel=RTOL)
        assert got.tokens_supervised == want.tokens_supervised


def test_runs_of_different_shapes_do_not_pack(tmp_path):
    a = tiny_run(out_dir=tmp_path)
    b = dataclasses.replace(a, model=dataclasses.replace(a.model, d_model=32))
    with pytest.raises(ValueError, match="must share shape"):
        train_pack([a, b])
