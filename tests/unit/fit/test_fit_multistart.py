"""The multistart engine shared by the parametric laws (scaling.fit.multistart)."""

from __future__ import annotations

import numpy as np
import pytest

from scaling.core.errors import UserError
from scaling.fit.multistart import Multistart, product_grid, resample_counts

Y = np.array([0.3, 1.2, 2.0, 2.5, 4.1, 5.0])


def weighted_mean_problem(fail_without_row0: bool = False) -> Multistart:
    """f(x) = sum_i w_i (x - y_i)^2: the minimiser is the weighted mean of Y."""

    def objective(w: np.ndarray):
        per_problem = w.ndim == 2

        def fg(x: np.ndarray, rows: np.ndarray):
            ww = w[rows] if per_problem else np.broadcast_to(w, (len(rows), len(Y)))
            r = x[:, :1] - Y
            f = (ww * r * r).sum(axis=1)
            if fail_without_row0:
                f = np.where(ww[:, 0] > 0, f, np.inf)
            return f, (2 * ww * r).sum(axis=1, keepdims=True)

        return fg

    return Multistart(law="mean", objective=objective)


def double_well(w: np.ndarray):
    """f(x) = (x^2 - 1)^2 + 0.1 x + 1 (>= 0, as the engine expects): two basins, the lower one
    near x = -1 (f ~ 0.9), the other near x = 1 (f ~ 1.1, within 1.5x of the best)."""

    def fg(x: np.ndarray, rows: np.ndarray):
        t = x[:, 0]
        return (t * t - 1) ** 2 + 0.1 * t + 1, (4 * t * (t * t - 1) + 0.1)[:, None]

    return fg


def test_minimise_returns_distinct_optima_best_first():
    opt = Multistart(law="well", objective=double_well).minimise(np.ones(1), np.c_[[-2, 0.5, 2]])
    assert opt.converged and len(opt.theta) == 2
    assert opt.theta[0, 0] < 0 < opt.theta[1, 0] and opt.f[0] < opt.f[1]

    # an end point more than 1.5x above the best is another, worse basin: not polished
    opt = Multistart(law="steep", objective=raised_right_well).minimise(
        np.ones(1), np.c_[[-2, 0.5, 2]]
    )
    assert len(opt.theta) == 1 and opt.theta[0, 0] < 0


def raised_right_well(w: np.ndarray):
    """The double well with its right basin raised by 2 (f ~ 3.1 there, over 1.5 x 0.9)."""
    fg = double_well(w)

    def raised(x: np.ndarray, rows: np.ndarray):
        f, g = fg(x, rows)
        return f + 2.0 * (x[:, 0] > 0), g

    return raised


def test_minimise_diverging_everywhere_is_a_user_error():
    def nowhere(w):
        return lambda x, rows: (np.full(len(x), np.inf), np.zeros_like(x))

    with pytest.raises(UserError, match="nowhere: the fit diverged from every start"):
        Multistart(law="nowhere", objective=nowhere).minimise(np.ones(1), np.zeros((3, 1)))


def test_bootstrap_refits_are_the_resampled_means_and_failures_are_counted():
    w = np.ones(len(Y))
    refits = weighted_mean_problem().bootstrap(w, np.array([[0.0]]), 30, seed=4)
    counts = resample_counts(np.random.default_rng(4), len(Y), 30)
    assert refits.ok.all() and refits.n_failed == 0
    np.testing.assert_allclose(refits.theta[:, 0], counts @ Y / counts.sum(axis=1), atol=1e-6)
    bad = weighted_mean_problem(fail_without_row0=True).bootstrap(w, np.array([[0.0]]), 30, 4)
    assert bad.n_failed == int((counts[:, 0] == 0).sum()) > 0
    assert np.isnan(bad.masked()[~bad.ok]).all() and np.isfinite(bad.masked()[bad.ok]).all()


def test_cluster_resamples_move_whole_clusters():
    clusters = np.array([0, 0, 1, 1, 1, 2])
    counts = resample_counts(np.random.default_rng(0), 6, 50, clusters)
    assert (counts[:, 0] == counts[:, 1]).all() and (counts[:, 2] == counts[:, 4]).all()
    sizes = np.array([2, 3, 1])
    drawn = counts[:, [0, 2, 5]]  # times each cluster was drawn
    assert (drawn.sum(axis=1) == 3).all()
    np.testing.assert_array_equal(counts.sum(axis=1), drawn @ sizes)


def test_product_grid_and_subsets():
    pts = product_grid({"a": (0.0, 1.0), "b": (2.0, 3.0, 4.0)}, ("b", "a"))
    assert pts.shape == (6, 2) and tuple(pts[0]) == (2.0, 0.0) and tuple(pts[1]) == (2.0, 1.0)
    sub = product_grid({"a": (0.0, 1.0), "b": (2.0, 3.0, 4.0)}, ("b", "a"), n_starts=3, seed=1)
    assert len(sub) == 3 and all(any((p == q).all() for q in pts) for p in sub)
    with pytest.raises(UserError, match="grid: missing"):
        product_grid({"a": (0.0,)}, ("a", "b"))
    with pytest.raises(UserError, match="n_starts"):
        product_grid({"a": (0.0,)}, ("a",), n_starts=0)
