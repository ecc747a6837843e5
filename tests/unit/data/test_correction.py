"""The simulated expert-correction pipeline: noise, recall, modes, costs, determinism."""

from __future__ import annotations

import json
import math
import random

import pytest

from scaling.core.errors import UserError
from scaling.data import generators as G
from scaling.data.correction import (
    MODES,
    CorrectionConfig,
    apply_correction,
    noisy_trace,
    produce,
    wrong_steps,
)
from scaling.data.generators import RETRY_MARKER

GENERATORS = [
    ("arithmetic", {}),
    ("arithmetic", {"ops": ["mul"]}),
    ("igsm", {}),
    ("tool_use", {}),
    ("agent", {}),
    ("retry", {}),
]
IDS = [name + ("-mul" if p else "") for name, p in GENERATORS]


@pytest.fixture(scope="module", params=GENERATORS, ids=IDS)
def batch(request):
    name, params = request.param
    gen = G.get(name, **params)
    return gen, gen.generate(100, seed=21)


def _run(gen, examples, seed=5, **kw):
    return apply_correction(gen, examples, CorrectionConfig(**kw), seed=seed)


def _rendered(gen, result):
    return [gen.render(ex) for ex in result.kept]


# ---- configuration -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"epsilon": 1.5}, r"correction\.epsilon=1\.5: must be in \[0, 1\]"),
        ({"epsilon": -0.1}, r"correction\.epsilon"),
        ({"epsilon": float("nan")}, r"correction\.epsilon"),
        ({"recall": 2}, r"correction\.recall=2: must be in \[0, 1\]"),
        ({"mode": "magic"}, r"correction\.mode='magic': must be one of raw, outcome_filter"),
        ({"read_seconds_per_step": -1}, r"correction\.read_seconds_per_step=-1"),
        ({"fix_seconds_per_step": float("inf")}, r"correction\.fix_seconds_per_step"),
        ({"check_answer_seconds": "5"}, r"correction\.check_answer_seconds"),
        ({"generate_seconds_per_trace": True}, r"correction\.generate_seconds_per_trace"),
    ],
)
def test_config_validation(changes, match):
    with pytest.raises(UserError, match=match):
        CorrectionConfig(**changes)


def test_config_is_the_run_schema():
    """One class: the run config's correction section is what the pipeline takes."""
    from scaling.core import config

    assert CorrectionConfig is config.CorrectionConfig
    assert tuple(MODES) == tuple(config.CORRECTION_MODES)


# ---- the noisy generator -------------------------------------------------------------------
def test_noisy_steps_are_flagged_wrong(batch):
    gen, examples = batch
    n_corrupted = 0
    for i, ex in enumerate(examples):
        pick, content = random.Random(i), random.Random(1000 + i)
        steps, answer, corrupted = noisy_trace(gen, ex, 0.3, pick, content)
        noisy = gen.with_steps(ex, steps, answer)
        flags = gen.verify_steps(ex, gen.completion(noisy))
        for j in corrupted:
            assert flags[j] is False
        if not corrupted:
            assert (tuple(steps), answer) == (ex.steps, ex.answer)
        n_corrupted += bool(corrupted)
    assert n_corrupted > 0.2 * len(examples)


# ---- modes ---------------------------------------------------------------------------------
def test_epsilon_zero_changes_nothing_and_costs_reading(batch):
    gen, examples = batch
    n_steps = sum(len(ex.steps) for ex in examples)
    for mode in MODES:
        res = _run(gen, examples, epsilon=0.0, mode=mode)
        assert [(e.uid, e.prompt, e.steps, e.answer) for e in res.kept] == [
            (e.uid, e.prompt, e.steps, e.answer) for e in examples
        ]
        s = res.stats
        assert s["n_generated"] == s["n_kept"] == len(examples)
        assert s["interventions"] == 0 and s["residual_error_rate"] == 0.0
        expected = {
            "raw": 0.0,
            "outcome_filter": 5.0 * len(examples),
            "process_correction": 4.0 * n_steps,
            "retry_kept": 4.0 * n_steps,
        }[mode]
        assert s["expert_seconds_total"] == pytest.approx(expected)
        assert s["steps_read"] == (n_steps if mode in ("process_correction", "retry_kept") else 0)


def test_full_recall_process_correction_yields_verified_traces(batch):
    gen, examples = batch
    for eps in (0.1, 0.3, 0.6):
        res = _run(gen, examples, epsilon=eps, recall=1.0, mode="process_correction")
        assert res.stats["n_kept"] == len(examples)
        assert res.stats["interventions"] == res.stats["traces_corrupted"] > 0
        for ex in res.kept:
            completion = gen.completion(ex)
            assert gen.verify(ex, completion)
            assert not any(wrong_steps(gen, ex))
            assert RETRY_MARKER not in completion or gen.name == "retry"
        assert res.stats["residual_error_rate"] == 0.0
        assert res.stats["answer_error_rate"] == 0.0


def test_outcome_filter_keeps_only_verified_answers(batch):
    gen, examples = batch
    res = _run(gen, examples, epsilon=0.2, mode="outcome_filter")
    s = res.stats
    assert 0 < s["n_kept"] < s["n_generated"] == len(examples)
    assert all(gen.verify(ex, gen.completion(ex)) for ex in res.kept)
    assert s["answer_error_rate"] == 0.0
    assert s["steps_read"] == 0 and s["answers_checked"] == len(examples)
    assert s["expert_seconds_per_kept_trace"] == pytest.approx(5.0 * len(examples) / s["n_kept"])


def test_raw_keeps_errors(batch):
    gen, examples = batch
    res = _run(gen, examples, epsilon=0.2, mode="raw")
    s = res.stats
    assert s["n_kept"] == len(examples) and s["expert_seconds_total"] == 0.0
    assert s["answer_error_rate"] > 0.05 and s["residual_error_rate"] >= s["answer_error_rate"]


def test_retry_kept_traces_back_off_and_verify(batch):
    gen, examples = batch
    res = _run(gen, examples, epsilon=0.3, recall=1.0, mode="retry_kept")
    fixed = [ex for ex in res.kept if ex.meta["correction"]["fixed"]]
    assert len(fixed) == res.stats["interventions"] > 0
    for ex in res.kept:
        completion = gen.completion(ex)
        assert gen.verify(ex, completion)
        assert not any(wrong_steps(gen, ex))
    for ex in fixed:
        i = ex.meta["correction"]["noticed_step"]
        assert ex.steps[i + 1] == RETRY_MARKER + "\n"
        flags = gen.verify_steps(ex, gen.completion(ex))
        assert flags[i] is False and flags[i + 1] is True and flags[i + 2] is True


def test_partial_recall_leaves_residual_errors(batch):
    gen, examples = batch
    low = _run(gen, examples, epsilon=0.3, recall=0.3, mode="process_correction").stats
    high = _run(gen, examples, epsilon=0.3, recall=0.9, mode="process_correction").stats
    assert low["residual_error_rate"] > high["residual_error_rate"]
    assert low["interventions"] < high["interventions"]
    assert low["residual_error_rate"] > 0


def test_costs_grow_with_epsilon(batch):
    gen, examples = batch
    for mode in ("outcome_filter", "process_correction", "retry_kept"):
        costs = [
            _run(gen, examples, epsilon=eps, mode=mode).stats["expert_seconds_per_kept_trace"]
            for eps in (0.0, 0.1, 0.3)
        ]
        assert costs[0] < costs[1] < costs[2], (mode, costs)
    fixes = [
        _run(gen, examples, epsilon=eps, mode="process_correction").stats[
            "interventions_per_1000_steps"
        ]
        for eps in (0.0, 0.1, 0.3)
    ]
    assert fixes[0] == 0 < fixes[1] < fixes[2]


def test_cost_arithmetic():
    gen = G.get("arithmetic")
    examples = gen.generate(200, seed=3)
    cfg = dict(
        epsilon=0.2,
        mode="process_correction",
        read_seconds_per_step=2.0,
        fix_seconds_per_step=10.0,
        generate_seconds_per_trace=1.5,
    )
    s = _run(gen, examples, **cfg).stats
    assert s["expert_seconds_total"] == pytest.approx(
        2.0 * s["steps_read"] + 10.0 * s["interventions"]
    )
    assert s["machine_seconds_total"] == pytest.approx(1.5 * 200)
    assert s["total_seconds_per_kept_trace"] == pytest.approx(
        (s["expert_seconds_total"] + s["machine_seconds_total"]) / s["n_kept"]
    )
    assert s["interventions_per_1000_steps"] == pytest.approx(
        1000 * s["interventions"] / s["steps_generated"]
    )


def test_meta_records_what_happened(batch):
    gen, examples = batch
    res = _run(gen, examples, epsilon=0.3, recall=0.5, mode="process_correction")
    for ex in res.kept:
        c = ex.meta["correction"]
        assert set(c) >= {"mode", "corrupted_steps", "noticed_step", "fixed", "kept"}
        assert c["kept"] is True and c["fixed"] == (c["noticed_step"] is not None)
        if c["fixed"]:
            assert c["corrupted_steps"]
        json.dumps(ex.meta)
    stats = {k: v for k, v in res.stats.items() if not (isinstance(v, float) and math.isnan(v))}
    json.dumps(stats)


def test_deterministic(batch):
    gen, examples = batch
    cfg = dict(epsilon=0.3, recall=0.7, mode="retry_kept")
    a, b = _run(gen, examples, seed=9, **cfg), _run(gen, examples, seed=9, **cfg)
    assert _rendered(gen, a) == _rendered(gen, b) and a.stats == b.stats
    c = _run(gen, examples, seed=10, **cfg)
    assert _rendered(gen, a) != _rendered(gen, c)


def test_outputs_only_data_has_nothing_to_corrupt():
    gen = G.get("arithmetic", fmt="plain")
    examples = gen.generate(50, seed=0)
    res = _run(gen, examples, epsilon=0.9, mode="outcome_filter")
    assert res.stats["n_kept"] == 50 and res.stats["steps_corrupted"] == 0


# ---- produce ------------------------------------------------------------------------------
def test_produce_keeps_exactly_n():
    gen = G.get("igsm")
    res = produce(gen, 120, CorrectionConfig(epsilon=0.3, mode="outcome_filter"), seed=1)
    assert len(res.kept) == res.stats["n_kept"] == 120
    assert res.stats["n_generated"] > 120
    assert all(gen.verify(ex, gen.completion(ex)) for ex in res.kept)
    again = produce(gen, 120, CorrectionConfig(epsilon=0.3, mode="outcome_filter"), seed=1)
    assert _rendered(gen, res) == _rendered(gen, again)
    held = produce(gen, 20, CorrectionConfig(), seed=1, split="heldout")
    assert all(G.is_heldout(ex) for ex in held.kept)


def test_produce_stops_with_a_clear_error_when_nothing_is_kept():
    gen = G.get("tool_use")
    cfg = CorrectionConfig(epsilon=1.0, mode="outcome_filter")
    with pytest.raises(
        UserError, match=r"mode=outcome_filter kept \d+ of \d+ generated traces \(keep rate 0\.0"
    ):
        produce(gen, 50, cfg, seed=0, max_generated=400)


def test_produce_rejects_bad_n():
    with pytest.raises(UserError, match="n=-3"):
        produce(G.get("arithmetic"), -3, CorrectionConfig(), seed=0)
