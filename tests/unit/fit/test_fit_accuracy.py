"""Sigmoid accuracy fits against log compute and against loss."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scaling.core.errors import UserError
from scaling.fit import SigmoidFit, fit_accuracy


def test_recovers_sigmoid_in_log_flops():
    truth = SigmoidFit(against="log_flops", k=1.7, x0=20.3, floor=0.25, ceiling=0.9)
    flops = np.geomspace(1e18, 1e23, 25)
    acc = np.asarray(truth.predict(flops))
    fit = fit_accuracy(flops, acc, floor=0.25, ceiling=0.9)
    assert fit.k == pytest.approx(1.7, rel=1e-4)
    assert fit.x0 == pytest.approx(20.3, abs=1e-4)
    assert fit.r2 > 0.999999
    assert np.all(np.diff(np.asarray(fit.predict(flops))) > 0)  # rises with compute


def test_recovers_sigmoid_in_loss_with_fitted_floor_and_ceiling():
    truth = SigmoidFit(against="loss", k=6.0, x0=2.8, floor=0.25, ceiling=0.85)
    loss = np.linspace(2.0, 3.8, 30)
    rng = np.random.default_rng(0)
    acc = np.asarray(truth.predict(loss)) + rng.normal(0, 0.003, loss.size)
    fit = fit_accuracy(loss, acc, against="loss", floor=None, ceiling=None)
    assert fit.floor_fitted and fit.ceiling_fitted
    assert fit.k == pytest.approx(6.0, rel=0.1)
    assert fit.x0 == pytest.approx(2.8, abs=0.03)
    assert fit.floor == pytest.approx(0.25, abs=0.02)
    assert fit.ceiling == pytest.approx(0.85, abs=0.02)
    assert np.all(np.diff(np.asarray(fit.predict(loss))) < 0)  # falls as loss rises
    d = json.loads(json.dumps(fit.to_dict()))
    assert d["against"] == "loss" and d["s"] == -1.0 and len(d["residuals"]) == 30


@pytest.mark.parametrize("against", ["log_flops", "loss"])
def test_inverse_round_trip(against):
    fit = SigmoidFit(
        against=against, k=2.0, x0=21.0 if against == "log_flops" else 3.0, floor=0.2, ceiling=1.0
    )
    x = 3e21 if against == "log_flops" else 2.9
    assert fit.inverse(fit.predict(x)) == pytest.approx(x, rel=1e-9)
    assert np.isnan(fit.inverse(0.1))  # below the floor: never reached
    assert np.isnan(fit.inverse(1.0))
    assert np.asarray(fit.inverse([0.5, 0.6])).shape == (2,)


def test_accuracy_errors():
    with pytest.raises(UserError, match="against"):
        fit_accuracy([1e20, 1e21, 1e22], [0.3, 0.4, 0.5], against="params")
    with pytest.raises(UserError, match="at least"):
        fit_accuracy([1e20, 1e21], [0.3, 0.4])
    with pytest.raises(UserError, match="accuracy"):
        fit_accuracy([1e20, 1e21, 1e22], [0.3, float("nan"), 0.5])
    with pytest.raises(UserError, match="flops"):
        fit_accuracy([1e20, -1e21, 1e22], [0.3, 0.4, 0.5])
    with pytest.raises(UserError, match="floor"):
        fit_accuracy([1e20, 1e21, 1e22, 1e23], [0.3, 0.4, 0.5, 0.6], floor=0.9, ceiling=0.5)
