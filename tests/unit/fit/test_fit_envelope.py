"""Approach 1 (lower envelope of learning curves) on synthetic curves from a known law."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from scaling.core.errors import UserError
from scaling.fit import ChinchillaLaw, fit_envelope
from tests.helpers import run_cli

LAW = ChinchillaLaw(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)


SIZES = tuple(np.geomspace(1e7, 1e10, 25))


def curves(sizes=SIZES, points=80) -> pd.DataFrame:
    rows = []
    for i, n in enumerate(sizes):
        tokens = np.geomspace(1e7, 400 * n, points)
        for d in tokens:
            rows.append(
                {
                    "run": f"r{i}",
                    "params": n,
                    "tokens": d,
                    "flops": 6 * n * d,
                    "loss": float(LAW.predict(n, d)),
                }
            )
    return pd.DataFrame(rows)


def test_envelope_recovers_compute_optimal_exponents():
    fit = fit_envelope(curves())
    assert fit.a == pytest.approx(LAW.a, abs=0.02)
    assert fit.b == pytest.approx(LAW.b, abs=0.02)
    assert fit.used.sum() > 100 and fit.n_runs == 25
    # the envelope is the pointwise minimum: no run beats it at any grid FLOP value
    env = fit.columns()
    assert (np.diff(env["loss"]) <= 1e-12).all()  # more compute, lower loss
    mid = len(env["flops"]) // 2
    c = float(env["flops"][mid])
    best = min(float(LAW.predict(n, c / (6 * n))) for n in np.geomspace(1e7, 1e10, 25))
    assert float(env["loss"][mid]) == pytest.approx(best, rel=2e-3)
    d = json.loads(json.dumps(fit.to_dict()))
    assert d["law"] == "envelope" and d["n_used"] == int(fit.used.sum())


def test_edges_are_excluded_by_default():
    fit = fit_envelope(curves())
    frame = fit.columns()
    edge = np.isin(frame["params"], [1e7, 1e10])
    assert not frame["used"][edge].any()
    kept = fit_envelope(curves(), exclude_edges=False)
    assert kept.used.sum() > fit.used.sum()


def test_envelope_errors():
    df = curves(sizes=np.geomspace(1e8, 1e9, 3), points=20)
    with pytest.raises(UserError, match="missing column"):
        fit_envelope(df.drop(columns=["run"]))
    bad = df.copy()
    bad.loc[5, "loss"] = -1.0
    with pytest.raises(UserError, match="'loss'"):
        fit_envelope(bad)
    with pytest.raises(UserError, match="runs"):
        fit_envelope(df[df["run"] == "r0"])
    with pytest.raises(UserError, match="distinct interior model sizes"):
        fit_envelope(curves(sizes=[1e8, 1e9], points=20))


def test_plain_arrays_give_the_same_envelope_as_a_table():
    """fit_envelope reads columns by name with numpy: a dict of arrays or lists, or a table."""
    df = curves(sizes=np.geomspace(1e7, 1e10, 8), points=30)
    from_table = fit_envelope(df)
    from_arrays = fit_envelope({k: df[k].to_numpy() for k in df.columns})
    from_lists = fit_envelope({k: df[k].tolist() for k in df.columns})
    for other in (from_arrays, from_lists):
        assert other.to_dict() == from_table.to_dict()
        for k, v in from_table.columns().items():
            assert np.array_equal(other.columns()[k], v)
    with pytest.raises(UserError, match="missing column"):
        fit_envelope({k: df[k].to_numpy() for k in ("run", "flops", "loss")})
    with pytest.raises(UserError, match="same length"):
        fit_envelope({**{k: df[k].to_numpy() for k in df.columns}, "run": ["r0"]})
    with pytest.raises(UserError, match="'tokens'"):
        fit_envelope({**{k: df[k].tolist() for k in df.columns}, "tokens": ["x"] * len(df)})


def test_envelope_imports_no_pandas():
    code = (
        "import sys, scaling.fit.envelope as e; "
        "fit = e.fit_envelope({'run': [0, 0, 1, 1, 2, 2], 'flops': [1, 4, 2, 8, 4, 16], "
        "'loss': [3, 2, 3.1, 1.9, 3.2, 1.8], 'params': [1, 1, 2, 2, 4, 4], "
        "'tokens': [1, 4, 1, 4, 1, 4]}, n_bins=20, exclude_edges=False); "
        "assert 'pandas' not in sys.modules, 'pandas imported'"
    )
    run_cli(["python", "-c", code], check=True)
