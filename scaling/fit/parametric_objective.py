"""The Chinchilla fit's problem: objective in log-sum-exp form, start grid, parameter transform.

Hoffmann et al. 2022, App. D.2: with theta = (a, b, e, alpha, beta), A = exp(a), B = exp(b),
E = exp(e),

    log L_hat = LSE(a - alpha log N, b - beta log D, e),

and the fit minimises sum_i w_i Huber_delta(log L_hat_i - log L_i) (delta = 1e-3) from a grid of
initialisations. Besiroglu et al. 2024 (arXiv:2404.10102) show that the Huber terms must be
summed, not averaged, and that a badly scaled objective stopped L-BFGS early; the objective here
is therefore the sum divided by delta (O(1) numbers, same minimiser). ``chinchilla_problem``
hands it to the engine ``scaling.fit.multistart`` for ``scaling.fit.parametric.fit_chinchilla``;
``minimise_chinchilla`` and ``bootstrap_chinchilla`` run the engine's stages on their own
(scripts/bench_fit.py times them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from scaling.fit._optim import BatchObjective, chunked
from scaling.fit.multistart import Multistart, product_grid

# Initialisation grid of Hoffmann et al. 2022, App. D.2, as used by Besiroglu et al. 2024
# (epoch-research/analyzing-chinchilla, data_analysis.ipynb: alpha, beta in np.arange(0, 2.5, 0.5),
# e in np.arange(-1, 1.5, 0.5), a, b in np.arange(0, 30, 5)): 5 * 5 * 5 * 6 * 6 = 4,500 starts.
HOFFMANN_GRID: Mapping[str, tuple[float, ...]] = {
    "a": (0.0, 5.0, 10.0, 15.0, 20.0, 25.0),
    "b": (0.0, 5.0, 10.0, 15.0, 20.0, 25.0),
    "e": (-1.0, -0.5, 0.0, 0.5, 1.0),
    "alpha": (0.0, 0.5, 1.0, 1.5, 2.0),
    "beta": (0.0, 0.5, 1.0, 1.5, 2.0),
}
_THETA = ("a", "b", "e", "alpha", "beta")  # internal optimisation order


def lse_log_loss(theta: np.ndarray, log_n: np.ndarray, log_d: np.ndarray) -> np.ndarray:
    """log L_hat = LSE(a - alpha log N, b - beta log D, e) for theta rows (a, b, e, alpha, beta).

    Hoffmann et al. 2022, App. D.2. ``theta`` is (S, 5); returns (S, n).
    """
    t = np.atleast_2d(theta)
    t1 = t[:, 0:1] - t[:, 3:4] * log_n
    t2 = t[:, 1:2] - t[:, 4:5] * log_d
    t3 = np.broadcast_to(t[:, 2:3], t1.shape)
    m = np.maximum(np.maximum(t1, t2), t3)
    return m + np.log(np.exp(t1 - m) + np.exp(t2 - m) + np.exp(t3 - m))


def _lse_terms(
    th: np.ndarray, ln: np.ndarray, ld: np.ndarray, ll: np.ndarray
) -> tuple[np.ndarray, ...]:
    """(e1, e2, e3, s, r, m): the three LSE terms t1 = a - alpha log N, t2 = b - beta log D,
    t3 = e as exp(t - m) with m their maximum, their sum s and r = log L_hat - log L (in place,
    in the dtype of ``th``)."""
    e1 = np.multiply(th[:, 3:4], ln)
    np.subtract(th[:, 0:1], e1, out=e1)  # t1 = a - alpha log N
    e2 = np.multiply(th[:, 4:5], ld)
    np.subtract(th[:, 1:2], e2, out=e2)  # t2 = b - beta log D
    m = np.maximum(e1, e2)
    np.maximum(m, th[:, 2:3], out=m)
    np.subtract(e1, m, out=e1)
    np.exp(e1, out=e1)
    np.subtract(e2, m, out=e2)
    np.exp(e2, out=e2)
    e3 = np.subtract(th[:, 2:3], m)
    np.exp(e3, out=e3)
    s = np.add(e1, e2)
    s += e3
    r = np.log(s)
    r += m
    r -= ll  # r = log L_hat - log L
    return e1, e2, e3, s, r, m


def _lse_gradient(
    c: np.ndarray, e1: np.ndarray, e2: np.ndarray, e3: np.ndarray, x_n: np.ndarray, x_d: np.ndarray
) -> np.ndarray:
    """Gradient (k, 5) in (a, b, e, alpha, beta) from c = d f / d LSE / s and the LSE terms
    (overwritten); ``x_n`` = [1, log N] and ``x_d`` = [1, log D] give sums and moments."""
    np.multiply(c, e1, out=e1)
    np.multiply(c, e2, out=e2)
    np.multiply(c, e3, out=e3)
    g1 = e1 @ x_n
    g2 = e2 @ x_d
    g = np.empty((e1.shape[0], 5))
    g[:, 0] = g1[:, 0]
    g[:, 1] = g2[:, 0]
    g[:, 2] = e3.sum(axis=1)
    g[:, 3] = -g1[:, 1]
    g[:, 4] = -g2[:, 1]
    return g


def chinchilla_objective(
    log_n: np.ndarray,
    log_d: np.ndarray,
    log_l: np.ndarray,
    weights: np.ndarray,
    delta: float,
    dtype: type = np.float64,
) -> BatchObjective:
    """Batched objective f = sum_i w_i Huber_delta(log L_hat_i - log L_i) / delta and its gradient.

    Returns ``fg(theta (k, 5), rows) -> (f (k,), grad (k, 5))`` for theta rows
    (a, b, e, alpha, beta). ``weights`` is (n,) or (S, n) (one row per problem, e.g. bootstrap
    counts; ``rows`` selects them). Division by ``delta``: see the module docstring.
    ``dtype=np.float32`` (single-precision exp) is faster and less precise: enough to rank
    thousands of starts, not to finish a fit (measured on Epoch's 240 points at the 4,500 grid
    starts and their stage-1 end points: relative error at most 3.2e-6, median 7e-8, and ~2x
    faster than float64 on 2 shared CPU cores). With u = clip(r / delta, -1, 1),
    Huber(r) / delta = u (r - delta u / 2) and its derivative is u, which avoids branches.
    """
    per_problem = weights.ndim == 2
    inv_delta = 1.0 / delta
    ln = np.ascontiguousarray(log_n, dtype=dtype)
    ld = np.ascontiguousarray(log_d, dtype=dtype)
    ll = np.ascontiguousarray(log_l, dtype=dtype)
    wt = np.ascontiguousarray(weights, dtype=dtype)
    unit = (not per_problem) and bool(np.all(weights == 1))
    x_n = np.stack([np.ones_like(ln), ln], axis=1)  # (n, 2): sums and log-N moments in one matmul
    x_d = np.stack([np.ones_like(ld), ld], axis=1)

    def fg(theta: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        th = np.asarray(theta, dtype=dtype)
        e1, e2, e3, s, r, m = _lse_terms(th, ln, ld, ll)
        u = np.multiply(r, inv_delta, out=m)
        np.clip(u, -1.0, 1.0, out=u)
        h = np.multiply(u, -0.5 * delta)
        h += r
        h *= u  # Huber(r) / delta
        if not unit:
            w = wt[rows] if per_problem else wt
            h *= w
            u *= w
        f = h.sum(axis=1)
        u /= s  # d f / d LSE * 1/s
        return f.astype(np.float64), _lse_gradient(u, e1, e2, e3, x_n, x_d)

    return chunked(fg, len(ln))


def grid_starts(
    grid: Mapping[str, Sequence[float]] | None = None,
    n_starts: int | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Starting points (S, 5) in (a, b, e, alpha, beta) order from the product grid.

    The default grid is Hoffmann et al. 2022 App. D.2 (4,500 points). ``n_starts`` smaller than
    the grid picks that many grid points at random (seeded) without replacement.
    """
    return product_grid(dict(HOFFMANN_GRID if grid is None else grid), _THETA, n_starts, seed)


def _theta_to_law(theta: np.ndarray) -> dict[str, float]:
    """(log A, log B, log E, alpha, beta) -> the law's parameters; a degenerate optimum whose
    log A or log B lies past exp's range gives inf (the law then predicts no finite loss and
    callers report it as unconstrained) instead of raising OverflowError."""
    a, b, e, alpha, beta = (float(v) for v in theta)
    with np.errstate(over="ignore"):
        A, B, E = (float(np.exp(v)) for v in (a, b, e))
    return {"E": E, "A": A, "B": B, "alpha": alpha, "beta": beta}


def theta_samples(theta: np.ndarray) -> dict[str, np.ndarray]:
    """Rows (a, b, e, alpha, beta) -> samples of E, A, B, alpha, beta and the compute-optimal
    exponents a = beta / (alpha + beta), b = alpha / (alpha + beta) (Hoffmann et al. 2022, eq. 4);
    NaN rows (failed refits) stay NaN."""
    with np.errstate(over="ignore"):  # a degenerate resample may send log A past exp's range
        samples = {
            "E": np.exp(theta[:, 2]),
            "A": np.exp(theta[:, 0]),
            "B": np.exp(theta[:, 1]),
            "alpha": theta[:, 3],
            "beta": theta[:, 4],
        }
    with np.errstate(divide="ignore", invalid="ignore"):
        samples["a"] = samples["beta"] / (samples["alpha"] + samples["beta"])
        samples["b"] = samples["alpha"] / (samples["alpha"] + samples["beta"])
    return samples


def chinchilla_problem(
    log_n: np.ndarray, log_d: np.ndarray, log_l: np.ndarray, *, delta: float, polish: int = 8
) -> Multistart:
    """The engine's problem for the Chinchilla law on these points.

    Stage 1 ranks the starts in single precision with ``ftol`` 1e-7 (the float32 objective is
    precise to a few 1e-6 relative, see ``chinchilla_objective``, so a tighter tolerance buys
    nothing there); ``polish`` distinct optima are refined in double precision with L-BFGS
    memory 30 (a design choice: with 5 parameters, a longer history than scipy's default 10
    costs nothing); bootstrap refits run in double precision with ``batched_bfgs``'s default
    ``ftol`` 1e-12.
    """

    def objective(w: np.ndarray) -> BatchObjective:
        return chinchilla_objective(log_n, log_d, log_l, w, delta)

    def rank(w: np.ndarray) -> BatchObjective:
        return chinchilla_objective(log_n, log_d, log_l, w, delta, dtype=np.float32)

    return Multistart(
        law="chinchilla",
        objective=objective,
        rank_objective=rank,
        rank_ftol=1e-7,
        boot_ftol=1e-12,
        n_polish=max(polish, 1),
        maxcor=30,
    )


def minimise_chinchilla(
    log_n: np.ndarray,
    log_d: np.ndarray,
    log_l: np.ndarray,
    weights: np.ndarray,
    *,
    starts: np.ndarray,
    delta: float,
    polish: int = 8,
) -> tuple[np.ndarray, float, np.ndarray, tuple[bool, str]]:
    """Best theta, its scaled objective, the distinct polished optima (best first) and the
    optimizer status (converged, message) of the best (``Multistart.minimise``)."""
    problem = chinchilla_problem(log_n, log_d, log_l, delta=delta, polish=polish)
    opt = problem.minimise(weights, starts)
    return opt.theta[0], float(opt.f[0]), opt.theta, (opt.converged, opt.message)


def bootstrap_chinchilla(
    log_n: np.ndarray,
    log_d: np.ndarray,
    log_l: np.ndarray,
    weights: np.ndarray,
    *,
    starts: np.ndarray,
    n_boot: int,
    delta: float,
    seed: int,
    grid: np.ndarray | None = None,
    n_grid: int = 0,
    clusters: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """theta (n_boot, 5) refitted on resamples of the rows drawn with replacement, and a mask of
    the resamples whose best end point converged at a finite value (``Multistart.bootstrap``).

    Every resample is started from each of ``starts`` (the full fit's distinct optima) and from
    ``n_grid`` points drawn at random from ``grid`` (as Besiroglu et al. 2024 add best-of-5
    random grid starts to the warm start), and the best end point is kept.
    """
    problem = chinchilla_problem(log_n, log_d, log_l, delta=delta)
    refits = problem.bootstrap(
        weights, starts, n_boot, seed, clusters=clusters, grid=grid, n_grid=n_grid
    )
    return refits.theta, refits.ok
