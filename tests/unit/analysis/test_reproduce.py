"""`scaling reproduce`: the four published reproductions on the anchors, the over-training law
on synthetic data, and the command's error paths.

The anchor tests use ../shared/anchors (see its PROVENANCE.md) and skip when a table is absent.
They run with a few dozen bootstrap resamples (the defaults, 400-1,000, are for results; the
point estimates do not depend on the count except Porian's 1/sigma^2 weights). Tolerances:

- chinchilla: E, A, B, alpha, beta inside Besiroglu et al. 2024's published 95% interval
  (Table 1, estimate +- 1.96 SE), and E, alpha, beta within 0.01 of it: half the published SE of
  the exponents (0.02), a third of E's (0.03); the refit uses the same data, points and
  objective, so only the optimiser's end point differs.
- datablations: started at the published point the fit returns it (R_D* within 0.05, R_N*
  within 0.02 of 15.387756, 5.309743: the optimiser's tolerance on a flat valley); from the
  default starts the published values lie inside our 95% intervals.
- porian: our a inside the published 95% CI for at least 14 of the 15 configurations (15 of 15
  measured at 20 and at 400 resamples).
- gadre: the over-training law on the paper's 5 runs errs by the published 0.7103% / 0.7320%
  within 0.01 percentage points (the same procedure), below the Chinchilla form fitted on all
  32 small runs (3.0% at 6.9B, the number the issue quotes).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from scaling.analysis import reproduce
from scaling.cli.main import main
from scaling.core.errors import UserError
from scaling.fit import BESIROGLU_2024
from scaling.fit.overtraining import OvertrainingLaw, fit_overtraining
from tests.conftest import ANCHORS

PNG = b"\x89PNG\r\n\x1a\n"
BOOT = 20


def _needs(*files: str) -> None:
    for f in files:
        if not (ANCHORS / f).exists():
            pytest.skip(f"anchor file {ANCHORS / f} is absent (see its folder's PROVENANCE.md)")


def _run(name: str, bootstrap: int = BOOT) -> reproduce.Reproduction:
    spec = reproduce.REPRODUCTIONS[name]
    _needs(*(t.file for t in spec.tables))
    return reproduce.prepare(spec, ANCHORS).run(bootstrap, seed=0)


def _row(rep: reproduce.Reproduction, quantity: str) -> reproduce.Row:
    return next(r for r in rep.rows if r.quantity == quantity)


@pytest.fixture(scope="module")
def chinchilla():
    return _run("chinchilla", 30)


@pytest.fixture(scope="module")
def datablations():
    return _run("datablations")


@pytest.fixture(scope="module")
def porian():
    return _run("porian")


@pytest.fixture(scope="module")
def gadre():
    return _run("gadre")


# --------------------------------------------------------------------------- over-training law


def test_overtraining_law_is_chinchilla_with_equal_exponents():
    law = OvertrainingLaw(E=1.8, a=200.0, b=350.0, eta=0.14)
    N, D = np.array([1e7, 1e8, 1e9]), np.array([2e8, 4e10, 1e11])
    ch = law.as_chinchilla()
    assert ch.alpha == ch.beta == pytest.approx(0.28)
    np.testing.assert_allclose(law.predict_nd(N, D), ch.predict(N, D), rtol=1e-12)
    np.testing.assert_allclose(law.predict_nm(N, D / N), law.predict(6 * N * D, D / N), rtol=1e-12)


def test_fit_overtraining_recovers_a_known_law_and_brackets_it():
    truth = OvertrainingLaw(E=1.8, a=200.0, b=350.0, eta=0.14)
    N = np.repeat([1e7, 8e7, 1.5e8, 4e8], 3)
    M = np.tile([20.0, 80.0, 320.0], 4)
    L = np.asarray(truth.predict_nm(N, M))
    fit = fit_overtraining(N, M, L)
    for k in ("E", "a", "b", "eta"):
        assert getattr(fit, k) == pytest.approx(getattr(truth, k), rel=1e-4), k
    rng = np.random.default_rng(1)
    noisy = fit_overtraining(N, M, L + rng.normal(0, 0.01, L.size), bootstrap=60, seed=0)
    assert noisy.n_bootstrap_failed < 6 and noisy.noise_sd == pytest.approx(0.01, rel=0.6)
    lo, hi = noisy.prediction_interval(7e9, 20.0)
    assert lo < truth.predict_nm(7e9, 20.0) < hi
    assert noisy.intervals["eta"][0] < truth.eta < noisy.intervals["eta"][1]


def test_fit_overtraining_refuses_what_it_cannot_do():
    with pytest.raises(UserError, match="at least 5 runs"):
        fit_overtraining([1e7, 1e8, 1e9, 1e10], [20, 20, 20, 320], [4, 3, 2.5, 2.3], bootstrap=10)
    with pytest.raises(UserError, match="needs at least 4"):
        fit_overtraining([1e7, 1e8], [20, 20], [4, 3])
    with pytest.raises(UserError, match="multiplier"):
        fit_overtraining([1e7, 1e8, 1e9, 1e10], [20, -1, 20, 20], [4, 3, 2.5, 2.3])
    runs = ([1e7, 1e8, 1e9, 1e10, 2e10], [20, 20, 20, 320, 20], [4, 3, 2.5, 2.3, 2.2])
    with pytest.raises(UserError, match="bootstrap: must be >= 0"):
        fit_overtraining(*runs, bootstrap=-1)
    with pytest.raises(UserError, match="bootstrap_method: allowed values"):
        fit_overtraining(*runs, bootstrap=10, bootstrap_method="jackknife")
    with pytest.raises(UserError, match="at least one"):
        fit_overtraining(*runs, starts=[])


# --------------------------------------------------------------------------- the anchors


def test_chinchilla_matches_besiroglu_table_1(chinchilla):
    for k in ("E", "A", "B", "alpha", "beta"):
        row = _row(chinchilla, k)
        assert row.ours_in_published, (k, row.ours.value, row.published.interval)
        assert row.published_in_ours, (k, row.ours.interval)
    for k in ("E", "alpha", "beta"):
        assert abs(_row(chinchilla, k).difference) < 0.01, k
    # compute-optimal tokens per parameter at Chinchilla's budget: Besiroglu's law, not Hoffmann's
    label = "D_opt/N_opt at C = 5.76e+23 FLOPs"
    ratio = _row(chinchilla, label)
    assert abs(ratio.difference) / ratio.published.value < 0.1
    hoff = _row(chinchilla, label + " vs Hoffmann")
    assert hoff.published.value > ratio.ours.interval[1]  # Hoffmann's rounded law: ~92 tokens/param
    assert _row(chinchilla, "alpha vs Hoffmann").published.value == 0.34
    assert BESIROGLU_2024.alpha == _row(chinchilla, "alpha").published.value


def test_datablations_r_stars_near_the_published(datablations):
    loc_d = _row(datablations, "R_D*, started at the published point")
    loc_n = _row(datablations, "R_N*, started at the published point")
    assert loc_d.ours.value == pytest.approx(15.387756, abs=0.05)
    assert loc_n.ours.value == pytest.approx(5.309743, abs=0.02)
    glob_d = _row(datablations, "R_D*, global minimum (default starts)")
    glob_n = _row(datablations, "R_N*, global minimum (default starts)")
    assert glob_d.published_in_ours and glob_n.published_in_ours
    assert glob_d.note == "not identified" and math.isinf(glob_d.ours.interval[1])
    assert math.isfinite(glob_n.ours.interval[1])
    obj = _row(datablations, "objective: summed Huber(1e-3) of log residuals")
    assert obj.ours.interval is None and obj.ours.why
    assert -1e-4 < obj.difference <= 1e-7  # as low as the notebook's, within its flat valley


def test_porian_ladder_inside_the_published_cis(porian):
    rungs = [r for r in porian.rows if r.quantity.startswith("a, ")]
    assert len(rungs) == 15
    inside = sum(bool(r.ours_in_published) for r in rungs)
    assert inside >= 14, [(r.quantity, r.ours.value, r.published.interval) for r in rungs]
    count = _row(porian, "configurations with our a inside the published 95% CI")
    assert count.ours.value == inside
    assert max(abs(r.difference) for r in rungs) < 0.01


def test_gadre_extrapolation_error_as_published_and_below_chinchilla(gadre):
    ot = [
        _row(gadre, f"|relative error|, {t}: over-training law, paper's 5 runs")
        for t in ("1.4B, M = 640", "6.9B, M = 20")
    ]
    for row, pub in zip(ot, (0.007103, 0.007320), strict=True):
        assert row.published.value == pub
        assert abs(row.difference) < 1e-4, row.ours.value  # 0.01 percentage points
        lo, hi = row.ours.interval
        assert lo <= row.ours.value <= hi
    mean_ot = _row(gadre, "mean |relative error|, both targets: over-training law, paper's 5 runs")
    mean_ch = _row(gadre, "mean |relative error|, both targets: Chinchilla form, all 32 small runs")
    assert mean_ot.ours.value < mean_ch.ours.value
    ch7 = _row(gadre, "|relative error|, 6.9B, M = 20: Chinchilla form, all 32 small runs")
    assert 0.025 < ch7.ours.value < 0.035  # the 3.0%


def test_every_number_has_an_interval_or_says_why_and_figures_are_written(
    chinchilla, datablations, porian, gadre, tmp_path
):
    for rep in (chinchilla, datablations, porian, gadre):
        for r in rep.rows:
            assert r.ours.interval is not None or r.ours.why, (rep.name, r.quantity)
            assert r.published is None or r.published.source, (rep.name, r.quantity)
        table = rep.tables[0].rsplit("/", 1)[-1]
        titles = [t.get_text() for t in rep.figure.texts] + [a.get_title() for a in rep.figure.axes]
        assert any(table in t for t in titles), (rep.name, titles)
        out = rep.write(tmp_path)
        assert (out / "figure.png").read_bytes()[:8] == PNG
        assert (out / "figure.pdf").read_bytes()[:5] == b"%PDF-"
        data = json.loads((out / "numbers.json").read_text())
        assert len(data["rows"]) == len(rep.rows) and data["sources"]
        md = (out / "numbers.md").read_text()
        assert "| quantity | ours [95% CI] | published | difference |" in md


# --------------------------------------------------------------------------- the command


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    err = [ln for ln in err if not ln.startswith("running ")]
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_cli_unknown_name_lists_the_names(tmp_path, capsys):
    assert main(["reproduce", "kaplan", "--data", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    line = _one_error_line(capsys)
    assert all(n in line for n in ("chinchilla", "datablations", "porian", "gadre", "all"))
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("chinchilla", None, "github.com/epoch-research/analyzing-chinchilla"),
        ("gadre", "empty_dir", "github.com/mlfoundations/scaling"),
        ("datablations", "missing.csv", "github.com/huggingface/datablations"),
        ("all", None, "--data is required"),
    ],
)
def test_cli_missing_table_says_where_to_get_it(tmp_path, capsys, name, data, expected):
    args = ["reproduce", name, "--out", str(tmp_path / "o")]
    if data == "empty_dir":
        (tmp_path / "d").mkdir()
        args += ["--data", str(tmp_path / "d")]
    elif data:
        args += ["--data", str(tmp_path / data)]
    assert main(args) == 2
    assert expected in _one_error_line(capsys)
    assert not (tmp_path / "o").exists()


def test_cli_table_with_missing_columns_names_them(tmp_path, capsys):
    bad = tmp_path / "runs.csv"
    bad.write_text("params,tokens,loss\n1e6,1e8,3.0\n")
    out = str(tmp_path / "o")
    assert main(["reproduce", "datablations", "--data", str(bad), "--out", out]) == 2
    line = _one_error_line(capsys)
    assert "'unique_tokens'" in line and "'val_loss'" in line and "'params'" not in line
    assert main(["reproduce", "gadre", "--data", str(bad), "--bootstrap", "3"]) == 2
    assert "--bootstrap 3" in _one_error_line(capsys)
    assert not (tmp_path / "o").exists()


def test_cli_all_writes_nothing_when_one_table_is_missing(tmp_path, capsys):
    _needs("epoch_chinchilla_svg_extracted_data.csv")
    d = tmp_path / "d"
    d.mkdir()
    (d / "epoch_chinchilla_svg_extracted_data.csv").symlink_to(
        ANCHORS / "epoch_chinchilla_svg_extracted_data.csv"
    )
    assert main(["reproduce", "all", "--data", str(d), "--out", str(tmp_path / "o")]) == 2
    assert "datablations_default_fit_runs.csv: not found" in _one_error_line(capsys)
    assert not (tmp_path / "o").exists()


def test_cli_reproduce_gadre_writes_the_four_files_and_prints_the_table(tmp_path, capsys):
    _needs("gadre2024_overtraining_runs.csv")
    out = tmp_path / "o"
    path = ANCHORS / "gadre2024_overtraining_runs.csv"
    args = ["reproduce", "gadre", "--data", str(path), "--out", str(out), "--bootstrap", "10"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "quantity" in printed and "0.7103%" in printed and "[1] Gadre et al. 2024" in printed
    assert sorted(p.name for p in (out / "gadre").iterdir()) == sorted(reproduce.result.FILES)
    assert (out / "gadre" / "figure.png").read_bytes()[:8] == PNG
