"""Batched quasi-Newton minimisation of many small smooth problems at once (numpy only).

Multi-start fitting (Hoffmann et al. 2022, App. D.2: L-BFGS from a grid of initialisations) and
bootstrap refits solve thousands of independent 2- to 7-parameter problems that share one data
set. Running them as one batch turns thousands of scipy calls into a few hundred vectorised
objective evaluations over a ``(starts, points)`` array.

The method is BFGS with a dense inverse-Hessian approximation per problem (the parameter vectors
are tiny, so the ``(S, P, P)`` matrices cost nothing next to the objective), the initial scaling
of Nocedal & Wright, *Numerical Optimization* (2nd ed.) eq. (6.20), and a backtracking Armijo line
search (their Algorithm 3.1). Problems leave the batch as they converge, so late iterations only
pay for the stragglers. Callers polish the best few answers with ``scipy.optimize.minimize``
(``scaling.fit.multistart``).

The defaults of ``batched_bfgs`` (400 iterations, gtol 1e-8, ftol 1e-12, steps capped at 5,
40 halvings of the step) are settings chosen for these problems (parameters are logs of the
coefficients and exponents, of order 0.1 to 30), not derived; a problem that runs out of
iterations is reported as not converged, so a setting that is too tight shows up as failed
refits, never as a silent answer. ``chunked`` bounds each (problems, points) temporary at 2^21
values (16 MiB of float64), a memory cap that does not change any result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# fg(X, rows) -> (f, g): values (k,) and gradients (k, P) of problems ``rows`` at points X (k, P).
BatchObjective = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class BatchResult:
    """Final points, values and status of every problem in the batch."""

    x: np.ndarray  # (S, P)
    f: np.ndarray  # (S,)
    converged: np.ndarray  # (S,) bool: a tolerance was met or no decrease was left (not max_iter)
    n_iter: np.ndarray  # (S,) iterations used


class _State:
    """Per-problem BFGS state: inverse Hessians, flags and counters (arrays over problems)."""

    def __init__(self, x: np.ndarray, f: np.ndarray, g: np.ndarray, gtol: float) -> None:
        n_prob, n_par = x.shape
        self.eye = np.eye(n_par)
        self.H = np.broadcast_to(self.eye, (n_prob, n_par, n_par)).copy()
        self.fresh = np.ones(n_prob, dtype=bool)  # H still the identity: rescale after a step
        self.converged = np.zeros(n_prob, dtype=bool)
        self.done = ~np.isfinite(f)
        self.small_steps = np.zeros(n_prob, dtype=int)
        self.n_iter = np.zeros(n_prob, dtype=int)
        self.done |= np.abs(g).max(axis=1) < gtol
        self.converged |= self.done & np.isfinite(f)


def _direction(
    Ha: np.ndarray, ga: np.ndarray, fresh: np.ndarray, act: np.ndarray, eye: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Quasi-Newton step p = -H g and slope p.g; steepest descent (H reset) where p is no descent.

    ``Ha`` (the active problems' inverse Hessians) and ``fresh`` are updated in place.
    """
    p = -np.einsum("kij,kj->ki", Ha, ga)
    slope = np.einsum("ki,ki->k", p, ga)
    bad = ~(slope < 0) | ~np.isfinite(slope)
    if bad.any():  # not a descent direction: restart from steepest descent
        Ha[bad] = eye
        fresh[act[bad]] = True
        p[bad] = -ga[bad]
        slope[bad] = -np.einsum("ki,ki->k", ga[bad], ga[bad])
    return p, slope


def _line_search(
    fg: BatchObjective,
    act: np.ndarray,
    xa: np.ndarray,
    fa: np.ndarray,
    ga: np.ndarray,
    p: np.ndarray,
    slope: np.ndarray,
    t: np.ndarray,
    max_backtracks: int,
    c1: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backtracking Armijo line search (Nocedal & Wright, Algorithm 3.1), vectorised over the
    problems still searching: (x, f, g) after the step (unchanged where none was accepted) and
    the mask of accepted steps. ``t`` (initial step lengths) is halved in place."""
    x_new = xa.copy()
    f_new = fa.copy()
    g_new = ga.copy()
    accepted = np.zeros(act.size, dtype=bool)
    pending = np.arange(act.size)
    for _ls in range(max_backtracks):
        trial = xa[pending] + t[pending, None] * p[pending]
        ft, gt = fg(trial, act[pending])
        ok = np.isfinite(ft) & (ft <= fa[pending] + c1 * t[pending] * slope[pending])
        ok &= np.isfinite(gt).all(axis=1)
        hit = pending[ok]
        x_new[hit], f_new[hit], g_new[hit] = trial[ok], ft[ok], gt[ok]
        accepted[hit] = True
        pending = pending[~ok]
        if pending.size == 0:
            break
        t[pending] *= 0.5
    return x_new, f_new, g_new, accepted


def _update_inverse_hessian(
    Ha: np.ndarray,
    s: np.ndarray,
    yv: np.ndarray,
    accepted: np.ndarray,
    fresh: np.ndarray,
    act: np.ndarray,
    eye: np.ndarray,
) -> None:
    """BFGS update of ``Ha`` in place (Nocedal & Wright eq. 6.17) for steps ``s`` and gradient
    changes ``yv``, skipped where the curvature s.y <= 1e-12 |s| |y| (no positive curvature to
    keep H positive definite, their §6.1)."""
    sy = np.einsum("ki,ki->k", s, yv)
    yy = np.einsum("ki,ki->k", yv, yv)
    upd = accepted & (sy > 1e-12 * np.linalg.norm(s, axis=1) * np.sqrt(yy))
    if not upd.any():
        return
    fr = fresh[act] & upd
    if fr.any():  # Nocedal & Wright (6.20): H0 = (s.y / y.y) I before the first update
        Ha[fr] = eye * (sy[fr] / yy[fr])[:, None, None]
        fresh[act[fr]] = False
    u = np.flatnonzero(upd)
    rho = 1.0 / sy[u]
    Hu = Ha[u]
    Hy = np.einsum("kij,kj->ki", Hu, yv[u])
    yHy = np.einsum("ki,ki->k", yv[u], Hy)
    su = s[u]
    # H+ = H - rho (s Hy^T + Hy s^T) + (rho^2 yHy + rho) s s^T
    s_hy = su[:, :, None] * Hy[:, None, :]
    s_s = su[:, :, None] * su[:, None, :]
    Hu = (
        Hu
        - rho[:, None, None] * (s_hy + s_hy.transpose(0, 2, 1))
        + (rho * rho * yHy + rho)[:, None, None] * s_s
    )
    Ha[u] = Hu


def batched_bfgs(
    fg: BatchObjective,
    x0: np.ndarray,
    *,
    max_iter: int = 400,
    gtol: float = 1e-8,
    ftol: float = 1e-12,
    max_step: float = 5.0,
    max_backtracks: int = 40,
    c1: float = 1e-4,
) -> BatchResult:
    """Minimise S independent problems from starts ``x0`` (S, P) with batched BFGS.

    A problem stops when its gradient max-norm is below ``gtol``, when one step lowers its value
    by less than ``ftol * (1 + |f|)`` twice in a row, or when the line search finds no decrease
    (a kink or the floor of floating point). Steps are capped at ``max_step`` in Euclidean norm;
    ``c1`` is the Armijo constant (1e-4, Nocedal & Wright §3.1).
    """
    x = np.array(x0, dtype=float, copy=True)
    n_prob = x.shape[0]
    f, g = fg(x, np.arange(n_prob))
    f = np.asarray(f, dtype=float).copy()
    g = np.asarray(g, dtype=float).copy()
    st = _State(x, f, g, gtol)
    for _ in range(max_iter):
        act = np.flatnonzero(~st.done)
        if act.size == 0:
            break
        st.n_iter[act] += 1
        xa, fa, ga, Ha = x[act], f[act], g[act], st.H[act]
        p, slope = _direction(Ha, ga, st.fresh, act, st.eye)
        norm = np.linalg.norm(p, axis=1)
        t = np.minimum(1.0, max_step / np.maximum(norm, 1e-300))
        x_new, f_new, g_new, accepted = _line_search(
            fg, act, xa, fa, ga, p, slope, t, max_backtracks, c1
        )
        _update_inverse_hessian(Ha, x_new - xa, g_new - ga, accepted, st.fresh, act, st.eye)
        decrease = fa - f_new
        tiny = accepted & (decrease <= ftol * (1.0 + np.abs(f_new)))
        st.small_steps[act] = np.where(tiny, st.small_steps[act] + 1, 0)
        x[act], f[act], g[act], st.H[act] = x_new, f_new, g_new, Ha
        gconv = np.abs(g_new).max(axis=1) < gtol
        fconv = st.small_steps[act] >= 2
        st.converged[act] |= gconv | fconv | ~accepted
        st.done[act] |= gconv | fconv | ~accepted
    return BatchResult(x=x, f=f, converged=st.converged, n_iter=st.n_iter)


def chunked(fg: BatchObjective, n_points: int, max_elements: int = 1 << 21) -> BatchObjective:
    """Evaluate ``fg`` in blocks of rows so that a block holds at most ``max_elements`` values.

    Bounds the memory of the (problems, points) temporaries for large tables; results are
    identical to one call.
    """
    block = max(1, max_elements // max(n_points, 1))

    def wrapped(x: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(rows) <= block:
            return fg(x, rows)
        parts = [fg(x[i : i + block], rows[i : i + block]) for i in range(0, len(rows), block)]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    return wrapped


def distinct_best(x: np.ndarray, f: np.ndarray, k: int, *, tol: float = 1e-3) -> np.ndarray:
    """Indices of up to ``k`` lowest-valued rows of ``x`` that differ by more than ``tol``.

    Rows closer than ``tol`` (max-norm) to an already chosen, better row are the same basin.
    """
    order = np.argsort(np.where(np.isfinite(f), f, np.inf), kind="stable")
    chosen: list[int] = []
    for i in order:
        if not np.isfinite(f[i]):
            break
        if all(np.max(np.abs(x[i] - x[j])) > tol for j in chosen):
            chosen.append(int(i))
            if len(chosen) == k:
                break
    return np.asarray(chosen, dtype=int)
