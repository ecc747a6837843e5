"""Numerical faults (issue 14, item 4): a run whose loss turns NaN, infinite or explodes is
marked failed with its step and reason, is never fitted, is listed by ``scaling status`` and
is retried only with ``+rerun_failed=true`` (``runtime.rerun_failed``); a pack mate trains on."""

from __future__ import annotations

import json
import math

import pytest

from scaling.analysis import results
from scaling.core.config import OptimConfig
from scaling.runs import identity, state
from scaling.runs.runner import execute_pack
from tests.conftest import tiny_run


def _exploding(out_dir):
    return tiny_run(
        out_dir=out_dir, optim=OptimConfig(batch_size=4, lr=1e4, grad_clip=0.0, warmup_fraction=0.0)
    )


def test_a_diverged_run_in_a_pack_fails_with_its_step_and_its_pack_mate_finishes(tmp_path):
    bad, good = _exploding(tmp_path), tiny_run(out_dir=tmp_path)
    records = execute_pack([bad, good])
    assert records[0] is None and records[1]["status"] == "done"
    st = json.loads((tmp_path / identity.run_id(bad.to_dict()) / "status.json").read_text())
    assert st["state"] == "failed" and st["reason"].startswith("diverged: loss")
    assert isinstance(st["step"], int) and f"at step {st['step']}" in st["reason"]
    rows = {r["run_id"]: r for r in state.scan(tmp_path)}
    row = rows[identity.run_id(bad.to_dict())]
    assert row["state"] == "failed" and row["reason"] == st["reason"]  # scaling status lists it
    fitted = results.load(tmp_path)
    assert list(fitted.run_id) == [identity.run_id(good.to_dict())]  # never fitted


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_a_non_finite_loss_stops_the_run_at_that_step(tmp_path, monkeypatch, value):
    import torch.nn.functional as F

    real = F.cross_entropy
    calls = {"n": 0}

    def poisoned(*args, **kwargs):  # the 3rd training loss turns non-finite
        out = real(*args, **kwargs)
        calls["n"] += 1
        return out * value if calls["n"] == 3 else out

    monkeypatch.setattr(F, "cross_entropy", poisoned)
    run = tiny_run(out_dir=tmp_path)
    assert execute_pack([run]) == [None]
    st = json.loads((tmp_path / identity.run_id(run.to_dict()) / "status.json").read_text())
    assert st["state"] == "failed" and "diverged" in st["reason"]
    shown = "nan" if math.isnan(value) else "inf"
    assert f"loss {shown}" in st["reason"], st["reason"]
    assert st["step"] == 2  # steps 0 and 1 trained; the third loss stopped it
    assert results.load(tmp_path).empty
    monkeypatch.setattr(F, "cross_entropy", real)
    assert execute_pack([run]) == [None]  # not retried without rerun_failed
    run.runtime.rerun_failed = True
    assert execute_pack([run])[0]["status"] == "done"  # retried on request, healthy now
