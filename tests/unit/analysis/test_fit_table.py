"""Tables in, laws out: read_table validation, fit_frame dispatch, printing and JSON; imports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scaling.analysis.tables import fit_frame, format_table, read_table, to_json
from scaling.core.errors import UserError
from scaling.fit import ChinchillaLaw, DataConstrainedLaw
from tests.helpers import run_cli

LAW = ChinchillaLaw(E=1.8172, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658)
LAW_B = ChinchillaLaw(E=2.1, A=300.0, B=1500.0, alpha=0.30, beta=0.40)


def sweep(law: ChinchillaLaw, data_type: str) -> pd.DataFrame:
    rows = []
    for c in np.geomspace(1e18, 1e21, 5):
        n0 = float(law.compute_optimal(c)[0])
        for f in np.geomspace(1 / 6, 6, 7):
            n = n0 * f
            rows.append(
                {
                    "params": n,
                    "tokens": c / (6 * n),
                    "flops": c,
                    "data_type": data_type,
                    "loss": float(law.predict(n, c / (6 * n))),
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture
def two_types() -> pd.DataFrame:
    return pd.concat([sweep(LAW, "web"), sweep(LAW_B, "frontier")], ignore_index=True)


def test_read_csv_with_mapping_and_derived_tokens(tmp_path: Path):
    df = sweep(LAW, "web").drop(columns=["tokens"])
    df = df.rename(columns={"params": "Model Size", "flops": "Training FLOP"})
    path = tmp_path / "runs.csv"
    df.to_csv(path, index=False)
    out = read_table(path, mapping={"params": "Model Size", "flops": "Training FLOP"})
    assert out.attrs["derived"] == {"tokens": "tokens = flops / (6 * params)"}
    np.testing.assert_allclose(out["tokens"] * 6 * out["params"], out["flops"], rtol=1e-12)
    assert out["params"].dtype == float


def test_read_parquet(tmp_path: Path):
    df = sweep(LAW, "web")
    path = tmp_path / "runs.parquet"
    df.to_parquet(path)
    out = read_table(path)
    assert len(out) == len(df) and out.attrs["derived"] == {}


def test_missing_column_message_lists_columns_and_mapping(tmp_path: Path):
    path = tmp_path / "runs.csv"
    pd.DataFrame({"Model Size": [1e8], "tokens": [1e9], "loss": [3.0]}).to_csv(path, index=False)
    with pytest.raises(UserError) as err:
        read_table(path)
    msg = str(err.value)
    assert "'params'" in msg and "'Model Size'" in msg and "mapping" in msg
    assert "\n" not in msg
    with pytest.raises(UserError, match="no column 'Size'"):
        read_table(path, mapping={"params": "Size"})


@pytest.mark.parametrize(
    ("column", "value"),
    [("loss", -1.0), ("params", 0.0), ("tokens", float("inf")), ("loss", "abc")],
)
def test_bad_values_name_column_and_row(tmp_path: Path, column: str, value):
    df = sweep(LAW, "web").astype({column: object})
    df.loc[3, column] = value
    path = tmp_path / "runs.csv"
    df.to_csv(path, index=False)
    with pytest.raises(UserError, match=rf"column '{column}'.*row 3 \(file line 5\)"):
        read_table(path)


def test_unreadable_inputs(tmp_path: Path):
    with pytest.raises(UserError, match="not found"):
        read_table(tmp_path / "nope.csv")
    bad = tmp_path / "runs.xlsx"
    bad.write_text("x")
    with pytest.raises(UserError, match="unsupported"):
        read_table(bad)
    empty = tmp_path / "empty.csv"
    empty.write_text("params,tokens,loss\n")
    with pytest.raises(UserError, match="no rows"):
        read_table(empty)


def test_fit_frame_per_data_type_and_printing(two_types: pd.DataFrame):
    iso = fit_frame(two_types, "isoflop")
    assert set(iso) == {"frontier", "web"}
    assert iso["web"].a == pytest.approx(LAW.a, abs=0.01)
    assert iso["frontier"].a == pytest.approx(LAW_B.a, abs=0.01)
    para = fit_frame(two_types, "chinchilla", n_starts=100, bootstrap=20)
    assert para["web"].alpha == pytest.approx(LAW.alpha, rel=1e-3)
    assert para["frontier"].beta == pytest.approx(LAW_B.beta, rel=1e-3)
    text = format_table({**{f"{k}/isoflop": v for k, v in iso.items()}, **para})
    # each estimate printed as "value [lo, hi] 95%", in the order given (frontier, then web)
    row = r"\s{}\s+(\S+)\s+\[(\S+), (\S+)\] 95%$"
    alphas = re.findall(row.format("alpha"), text, re.M)
    exps = re.findall(row.format(re.escape("a (N_opt ∝ C^a)")), text, re.M)
    assert [float(v) for v, _, _ in alphas] == pytest.approx([LAW_B.alpha, LAW.alpha], rel=1e-3)
    assert [float(v) for v, _, _ in exps] == pytest.approx([LAW_B.a, LAW.a] * 2, abs=0.01)
    assert all(float(lo) <= float(v) <= float(hi) for v, lo, hi in alphas + exps)
    assert "R^2 (loss)" in text and "frontier" in text
    parsed = json.loads(to_json(para))
    assert parsed["web"]["law"] == "chinchilla" and "alpha" in parsed["web"]["intervals"]
    single = fit_frame(
        two_types[two_types.data_type == "web"].drop(columns="data_type"), "chinchilla", n_starts=50
    )
    assert list(single) == ["all"]


def test_fit_frame_other_laws(two_types: pd.DataFrame):
    law = DataConstrainedLaw(base=LAW, R_D_star=10.0, R_N_star=3.0)
    df = sweep(LAW, "web")
    df["unique_tokens"] = df["tokens"] / np.tile([1, 2, 4, 8, 16, 32, 64], 5)
    df["loss"] = law.predict(df["params"], df["tokens"], df["unique_tokens"])
    res = fit_frame(df, "data_constrained", base=LAW)
    assert res["web"].R_D_star == pytest.approx(10.0, rel=1e-3)
    df["accuracy"] = 0.25 + 0.6 / (1 + np.exp(-2.0 * (np.log10(df["flops"]) - 19.5)))
    acc = fit_frame(df, "accuracy", floor=0.25, ceiling=0.85)
    assert acc["web"].x0 == pytest.approx(19.5, abs=1e-3)
    acc_loss = fit_frame(df, "accuracy", against="loss")
    assert acc_loss["web"].against == "loss"
    hold = fit_frame(two_types, "isoflop", holdout="largest")
    assert abs(hold["web"].holdout.n_opt_rel_error) < 0.05
    assert "holdout" in format_table(hold)
    curves = pd.DataFrame(
        [
            {
                "run_id": f"n{n:.0e}",
                "params": n,
                "tokens": d,
                "loss": float(LAW.predict(n, d)),
                "data_type": "web",
            }
            for n in np.geomspace(1e7, 1e9, 6)
            for d in np.geomspace(1e8, 1e11, 30)
        ]
    )  # no flops column: 6 N D is used; run_id is accepted for run
    env = fit_frame(curves, "envelope", exclude_edges=False, n_bins=60)
    e = env["web"]
    # the lower envelope of six sizes' curves follows N_opt ∝ C^a of the law (a = 0.5126)
    assert e.n_runs == 6 and e.a == pytest.approx(LAW.a, abs=0.01)
    lo, hi = e.n_opt_law.interval
    assert lo < LAW.a < hi
    assert e.d_opt_law.exponent == pytest.approx(1 - e.a, abs=1e-9)  # D = C / (6 N)


def test_fit_frame_errors(two_types: pd.DataFrame):
    with pytest.raises(UserError, match="law"):
        fit_frame(two_types, "kaplan")
    with pytest.raises(UserError, match="unique_tokens"):
        fit_frame(two_types, "data_constrained")
    with pytest.raises(UserError, match="by: no column 'seed'"):
        fit_frame(two_types, "isoflop", by="seed")
    with pytest.raises(UserError, match=r"chinchilla \(data_type=web\): needs at least 5"):
        fit_frame(two_types.iloc[list(range(3)) + list(range(40, 60))], "chinchilla")


def test_import_is_light():
    code = (
        "import sys, scaling.fit as f; "
        "assert 'torch' not in sys.modules and 'hydra' not in sys.modules; "
        "assert 'scipy' not in sys.modules and 'pandas' not in sys.modules; "
        "f.fit_chinchilla; f.fit_isoflop; f.fit_data_constrained; f.fit_accuracy; "
        "f.fit_envelope; "
        "import scaling.fit.compare; "
        "assert 'torch' not in sys.modules and 'pandas' not in sys.modules; "
        "import scaling.analysis.tables; "
        "assert 'torch' not in sys.modules and 'hydra' not in sys.modules"
    )
    run_cli(["python", "-c", code], check=True)
