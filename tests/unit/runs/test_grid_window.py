"""The grid window: points of a product grid whose tokens per parameter fall outside
[grid.min_tokens_per_param, grid.max_tokens_per_param] are skipped by the runner, shown as
skipped by the plan, and never change a run's identity."""

from __future__ import annotations

import pytest

from scaling.cli.plan import plan_rows
from scaling.core import flops
from scaling.core.config import GridConfig, RunConfig
from scaling.core.errors import UserError
from scaling.runs import identity
from scaling.runs.runner import execute
from scaling.train import plan as budget
from tests.conftest import tiny_run


def _ratio(run: RunConfig) -> float:
    shape = budget.model_shape(run, 257)
    return budget.plan_run(run, 257).tokens / flops.params_for_convention(shape, "6N_attn")


@pytest.mark.parametrize(
    ("lo", "hi", "field"),
    [
        (-1, None, "grid.min_tokens_per_param"),
        (None, 0, "grid.max_tokens_per_param"),
        (50, 10, "grid.min_tokens_per_param"),
        (None, float("inf"), "grid.max_tokens_per_param"),
    ],
)
def test_bad_window_names_the_field(lo, hi, field):
    with pytest.raises(UserError) as info:
        GridConfig(min_tokens_per_param=lo, max_tokens_per_param=hi)
    assert str(info.value).startswith(field) and "\n" not in str(info.value)


def test_window_bounds_are_applied_to_d_over_n():
    run = tiny_run()
    ratio = _ratio(run)
    assert budget.tokens_per_param(run, 257) == pytest.approx(ratio)
    assert budget.outside_window(run, 257) is None  # no window: everything is trained
    run.grid = GridConfig(min_tokens_per_param=ratio / 2, max_tokens_per_param=ratio * 2)
    assert budget.outside_window(run, 257) is None
    run.grid = GridConfig(max_tokens_per_param=ratio * 0.99)
    assert "> grid.max_tokens_per_param" in budget.outside_window(run, 257)
    run.grid = GridConfig(min_tokens_per_param=ratio * 1.01)
    assert "< grid.min_tokens_per_param" in budget.outside_window(run, 257)


def test_window_does_not_change_the_run_id():
    run = tiny_run()
    before = identity.run_id(run.to_dict())
    run.grid = GridConfig(min_tokens_per_param=1.0, max_tokens_per_param=10.0)
    assert identity.run_id(run.to_dict()) == before


def test_runner_skips_a_point_outside_the_window_and_writes_nothing(tmp_path, capsys):
    run = tiny_run(out_dir=tmp_path / "runs")
    run.grid = GridConfig(max_tokens_per_param=_ratio(run) / 10)
    assert execute(run) is None
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
    assert "outside the grid window" in capsys.readouterr().err


def test_plan_marks_skipped_points():
    inside, outside = tiny_run(), tiny_run(flops=2e9)
    hi = (_ratio(inside) + _ratio(outside)) / 2  # between the two runs' D/N
    for run in (inside, outside):
        run.grid = GridConfig(max_tokens_per_param=hi)
    rows = plan_rows([inside, outside], calibrate=False)
    assert [r["state"] for r in rows] == ["pending", "skipped"]
    assert rows[0]["reason"] is None and "grid.max_tokens_per_param" in rows[1]["reason"]


def test_quickstart_window_keeps_a_bracket_at_every_budget(compose):
    """The quickstart's window keeps a band of at least 3 consecutive ladder sizes at each of its
    5 budgets, the band moves up with compute, and every size of the ladder is used somewhere."""
    from scaling.cli import grid

    runs, _ = grid.expand(["experiment=quickstart"])
    ladder = ["xxxs", "xxs", "xs", "s", "m", "l"]
    kept = [r for r in runs if budget.outside_window(r, 257) is None]
    by_budget: dict[float, set[str]] = {}
    for r in kept:
        by_budget.setdefault(r.budget.flops, set()).add(r.model.name)
    assert len(by_budget) == 5
    bands = [sorted(ladder.index(m) for m in by_budget[b]) for b in sorted(by_budget)]
    for band in bands:
        assert len(band) >= 3 and band == list(range(band[0], band[-1] + 1)), band
    assert [b[0] for b in bands] == sorted(b[0] for b in bands)  # the band climbs with C
    assert [b[-1] for b in bands] == sorted(b[-1] for b in bands)
    assert {r.model.name for r in kept} == set(ladder)


@pytest.mark.slow  # a Hydra multirun in a subprocess
def test_sweep_trains_only_the_window_and_status_lists_the_rest(tmp_path, data_cache):
    """A 2x2 toy multirun with grid.max_tokens_per_param=5 drops xxxs at 6e8 (9.1 tokens per
    parameter): three runs train, status shows the fourth as skipped with its reason."""
    from scaling.analysis import results
    from tests.e2e.test_launchers import SMALL
    from tests.helpers import run_cli

    out = tmp_path / "runs"
    cmd = ["scaling-train", "-m", f"runtime.out_dir={out}", *SMALL]
    proc = run_cli(
        [*cmd, "grid.max_tokens_per_param=5", "hydra/launcher=local"],
        cache=data_cache,
        timeout=300,
        check=True,
    )
    assert proc.stderr.count("outside the grid window") == 1
    df = results.load(out)
    assert len(df) == 3 and not ((df.model == "xxxs") & (df.budget_flops == 6e8)).any()
    status = run_cli(["scaling", "status", str(out)], cache=data_cache, timeout=120, check=True)
    assert "4 runs: 3 done, 1 skipped" in status.stdout
    assert "tokens/param > grid.max_tokens_per_param=5" in status.stdout
