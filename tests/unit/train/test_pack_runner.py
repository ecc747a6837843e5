"""A run trained in a pack gives the result it gives alone (train.pack_runner.train_pack)."""

from __future__ import annotations

import copy
import dataclasses

import pytest

from scaling.core.config import OptimConfig
from scaling.train.pack_runner import train_pack
from scaling.train.trainer import Hooks, Trainer
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
    packed = train_pack([Trainer(r) for r in runs])
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
        train_pack([Trainer(a), Trainer(b)])


class _Snapshot(Hooks):
    """Keeps the state a checkpoint would hold at the first periodic evaluation."""

    def __init__(self) -> None:
        self.state = None

    def on_eval(self, record, trainer) -> None:
        if self.state is None and not record.get("final"):
            self.state = copy.deepcopy(trainer.state_dict())


def test_a_run_resumed_inside_a_pack_continues_its_solo_run(tmp_path):
    """A checkpoint taken in a pack resumes in a new pack beside a fresh run (different
    steps in one pack), and both equal their uninterrupted solo runs."""
    a, b, c = _runs(tmp_path)
    snap = _Snapshot()
    train_pack([Trainer(a), Trainer(c)], [snap, Hooks()])
    assert snap.state is not None and snap.state["step"] > 0
    resumed = Trainer(a)
    resumed.load_state_dict(snap.state)
    seen = []
    got_a, got_b = train_pack([resumed, Trainer(b)], on_result=lambda k, r: seen.append(k))
    assert sorted(seen) == [0, 1]
    for run, got in ((a, got_a), (b, got_b)):
        want = Trainer(run).run_to_end()
        assert [r["step"] for r in got.curve] == [r["step"] for r in want.curve]
        assert [r["loss"] for r in got.curve] == pytest.approx(
            [r["loss"] for r in want.curve], rel=RTOL
        )
        for domain, m in want.final_eval.items():
            assert got.final_eval[domain]["loss"] == pytest.approx(m["loss"], rel=RTOL)


def test_a_packed_checkpoint_resumes_alone(tmp_path):
    """The state a pack checkpoints is the solo trainer's: a solo run continues from it."""
    a, _, c = _runs(tmp_path)
    snap = _Snapshot()
    train_pack([Trainer(a), Trainer(c)], [snap, Hooks()])
    resumed = Trainer(a)
    resumed.load_state_dict(snap.state)
    got, want = resumed.run_to_end(), Trainer(a).run_to_end()
    assert [r["loss"] for r in got.curve] == pytest.approx(
        [r["loss"] for r in want.curve], rel=RTOL
    )


def test_an_error_fails_the_runs_still_training(tmp_path):
    class Boom(Hooks):
        def on_eval(self, record, trainer) -> None:
            raise RuntimeError("disk full")

    a, _, c = _runs(tmp_path)
    out = train_pack([Trainer(a), Trainer(c)], [Boom(), Hooks()])
    assert all(isinstance(r, RuntimeError) for r in out)
