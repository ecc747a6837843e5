"""Training: learns, is deterministic, stops exactly at its budget, schedule and errors."""

import itertools
import math

import pytest

from scaling.core import flops
from scaling.core.config import OptimConfig
from scaling.core.errors import UserError
from scaling.train.plan import plan_run
from scaling.train.schedule import lr_at
from scaling.train.trainer import Trainer, train
from tests.conftest import tiny_run


def test_tiny_run_learns_and_stops_at_budget():
    run = tiny_run(flops=3e8)
    res = train(run)
    plan = plan_run(run, 257)
    assert res.steps == plan.steps > 10
    assert res.tokens == plan.steps * run.optim.batch_size * run.model.context
    assert res.flops_by_convention["6N_attn"] == pytest.approx(plan.flops)
    assert abs(plan.relative_error) <= 0.5 * plan.flops_per_token * plan.tokens_per_step / 3e8
    assert res.curve[0]["loss"] > res.train_loss  # it learned
    assert res.final_eval["web"]["loss"] < math.log(257)
    assert res.final_eval["web"]["bpb"] == pytest.approx(
        res.final_eval["web"]["loss"] / math.log(2)
    )
    assert len([e for e in res.evals if not e.get("final")]) == 2
    assert res.tokens_supervised == res.tokens


def test_same_seed_same_numbers_other_seed_differs():
    a, b = train(tiny_run()), train(tiny_run())
    c = train(tiny_run(seed=1))
    assert a.final_eval["web"]["loss"] == b.final_eval["web"]["loss"]
    assert a.final_eval["web"]["loss"] != c.final_eval["web"]["loss"]


def test_budget_below_one_step_is_a_user_error():
    with pytest.raises(UserError, match=r"budget.flops=.* buys less than one optimizer step"):
        Trainer(tiny_run(flops=1e3))


def test_lr_schedule_warmup_then_cosine_to_ten_percent():
    peak, steps = 1e-2, 200
    lrs = [lr_at(s, steps, peak, 0.05, 0.1) for s in range(steps)]
    warm = round(0.05 * steps)
    assert lrs[warm - 1] == pytest.approx(peak)
    assert all(a < b for a, b in itertools.pairwise(lrs[:warm]))
    assert all(a >= b for a, b in itertools.pairwise(lrs[warm:]))
    assert lrs[-1] == pytest.approx(0.1 * peak)


def test_width_rule():
    o = OptimConfig(lr=4e-3, lr_ref_width=64, lr_width_exponent=1.0)
    assert o.peak_lr(128) == pytest.approx(2e-3)
    assert OptimConfig(lr_width_exponent=0.0).peak_lr(512) == OptimConfig().lr


def test_result_params_match_flops_module():
    run = tiny_run()
    res = train(run)
    shape = flops.Shape(1, 16, 2, 64, 32, 257, True)
    assert res.params["6N_attn"] == flops.params_compute(shape)
    assert res.params_by_group == flops.param_groups(shape)


@pytest.mark.parametrize(
    "requested, gpus, job, expected",
    [
        ("auto", 0, None, "cpu"),
        ("auto", 0, 3, "cpu"),
        ("cpu", 4, 1, "cpu"),
        ("auto", 1, 5, "cuda:0"),
        ("auto", 4, None, "cuda:0"),
        ("auto", 4, 6, "cuda:2"),
        ("cuda", 2, 3, "cuda:1"),
        ("cuda:1", 2, 0, "cuda:1"),
    ],
)
def test_device_choice(requested, gpus, job, expected):
    from scaling.train.device import choose_device

    assert choose_device(requested, gpus, job) == expected


@pytest.mark.parametrize("requested, gpus", [("cuda", 0), ("cuda:2", 2)])
def test_device_choice_errors(requested, gpus):
    from scaling.train.device import choose_device

    with pytest.raises(UserError, match=r"runtime\.device"):
        choose_device(requested, gpus, None)


def test_bad_device_string_rejected():
    from scaling.core.config import RuntimeConfig

    with pytest.raises(UserError, match=r"runtime\.device: 'tpu'"):
        RuntimeConfig(device="tpu")
    assert RuntimeConfig(device="cuda:3").device == "cuda:3"
