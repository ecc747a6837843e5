"""The data-constrained law's objective: Huber on log loss in log-sum-exp form, with gradient,
in the coordinates of each base mode, and its start grid.

Muennighoff et al. 2023 (arXiv:2305.16264), §3.1 eqs. (5)-(7), fitted as in
huggingface/datablations utils/parametric_fit.ipynb ("Fitting" cell): the summed Huber
(delta = 1e-3) of log L_hat - log L with

    log L_hat = LSE(a - alpha log N', b - beta log D', e),   A = exp(a), B = exp(b), E = exp(e),

D' and N' as in ``scaling.fit.constrained.law`` and R_D* = exp(rho_d), R_N* = exp(rho_n) (logs
keep R* > 0). The sum is divided by delta so that the optimiser sees O(1) numbers (Besiroglu et
al. 2024, arXiv:2404.10102: a badly scaled objective stopped L-BFGS early).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from scaling.core.errors import UserError
from scaling.fit._optim import BatchObjective, chunked
from scaling.fit.parametric import ChinchillaLaw, grid_starts


def _log_eff(R: np.ndarray, rho: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """q = log(1 + R*(1 - e^(-R/R*))) with R* = exp(rho), dq/drho and dq/dR (arrays (k, n))."""
    Rs = np.exp(rho)
    x = R / Rs
    ex = np.exp(-x)
    one_m = -np.expm1(-x)
    den = 1.0 + Rs * one_m
    q = np.log(den)
    dq_drho = Rs * (one_m - x * ex) / den
    dq_dR = ex / den
    return q, dq_drho, dq_dR


@dataclass(frozen=True)
class _Effective:
    """log D', log N' and what their derivatives need, per problem and point (k, n)."""

    log_dp: np.ndarray  # log D' = log U_D + q_D
    dqd_rho: np.ndarray
    log_np: np.ndarray  # log N' = log U_N + q_N
    dqn_rho: np.ndarray
    dqn_dr: np.ndarray
    r_n: np.ndarray  # R_N = N / U_N - 1
    excess: np.ndarray  # U_N = N_u < N
    log_g: np.ndarray  # log G (Hoffmann et al. 2022, eq. 4)
    kk: np.ndarray  # beta / alpha


def _effective(th: np.ndarray, log_n: np.ndarray, log_u: np.ndarray, r_d: np.ndarray) -> _Effective:
    """D' and N' of Muennighoff et al. 2023 §3.1 for theta rows (k, 7), U_N = min(N, N_u) with
    N_u = G (G U)^(beta / alpha) (``unique_params``)."""
    a, b, _, al, be, rho_d, rho_n = (th[:, j : j + 1] for j in range(7))
    k = th.shape[0]
    q_d, dqd_rho, _ = _log_eff(np.broadcast_to(r_d, (k, len(r_d))), rho_d)
    log_dp = log_u + q_d
    sab = al + be
    log_g = (np.log(al) - np.log(be) + a - b) / sab
    kk = be / al
    log_nu = (1.0 + kk) * log_g + kk * log_u
    excess = log_nu < log_n  # U_N = N_u < N
    log_un = np.where(excess, log_nu, log_n)
    r_n = np.expm1(log_n - log_un)  # N / U_N - 1 >= 0
    q_n, dqn_rho, dqn_dr = _log_eff(r_n, rho_n)
    log_np = log_un + q_n
    return _Effective(log_dp, dqd_rho, log_np, dqn_rho, dqn_dr, r_n, excess, log_g, kk)


def _gradient(
    th: np.ndarray,
    ef: _Effective,
    log_u: np.ndarray,
    p1: np.ndarray,
    p2: np.ndarray,
    p3: np.ndarray,
) -> np.ndarray:
    """Gradient (k, 7) from df/dt1, df/dt2, df/de (``p1``, ``p2``, ``p3``) by the chain rule
    through N', D' and N_u (which depends on a, b, alpha, beta through G)."""
    al, be = th[:, 3:4], th[:, 4:5]
    sab = al + be
    # d log N' / d log U_N through U_N and R_N = N / U_N - 1 (only where U_N = N_u)
    dlnp_dlnu = np.where(ef.excess, 1.0 - (ef.r_n + 1.0) * ef.dqn_dr, 0.0)
    # d log N_u / d (a, b, alpha, beta)
    dlg_da = 1.0 / sab
    dlg_dal = (1.0 / al - ef.log_g) / sab
    dlg_dbe = (-1.0 / be - ef.log_g) / sab
    dnu_da = (1.0 + ef.kk) * dlg_da
    dnu_dal = (1.0 + ef.kk) * dlg_dal - (be / al**2) * (ef.log_g + log_u)
    dnu_dbe = (1.0 + ef.kk) * dlg_dbe + (1.0 / al) * (ef.log_g + log_u)
    g1 = -al * p1 * dlnp_dlnu  # df / d log N_u
    g = np.empty((th.shape[0], 7))
    g[:, 0] = (p1 + g1 * dnu_da).sum(axis=1)
    g[:, 1] = (p2 - g1 * dnu_da).sum(axis=1)
    g[:, 2] = p3.sum(axis=1)
    g[:, 3] = (-p1 * ef.log_np + g1 * dnu_dal).sum(axis=1)
    g[:, 4] = (-p2 * ef.log_dp + g1 * dnu_dbe).sum(axis=1)
    g[:, 5] = (-be * p2 * ef.dqd_rho).sum(axis=1)
    g[:, 6] = (-al * p1 * ef.dqn_rho).sum(axis=1)
    return g


def dc_objective(
    log_n: np.ndarray,
    log_u: np.ndarray,
    r_d: np.ndarray,
    log_l: np.ndarray,
    weights: np.ndarray,
    delta: float,
    fixed_base: np.ndarray | None = None,
) -> BatchObjective:
    """Batched Huber objective / delta and gradient of the data-constrained law.

    theta rows are (a, b, e, alpha, beta, log R_D*, log R_N*) or, with ``fixed_base`` =
    (a, b, e, alpha, beta), just (log R_D*, log R_N*). ``log_u`` is log U_D and ``r_d`` the
    repetitions D / U_D - 1. log N' = log U_N + q_N with U_N = min(N, N_u(theta)) depends on
    the base parameters through N_u = G (G U)^(beta / alpha) (see ``unique_params``).
    Huber(r) / delta = u (r - delta u / 2) with u = clip(r / delta, -1, 1), derivative u.
    """
    per_problem = weights.ndim == 2
    inv_delta = 1.0 / delta

    def fg(theta: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with np.errstate(all="ignore"):  # invalid trial points come back as f = inf
            k = theta.shape[0]
            if fixed_base is None:
                th = theta
            else:
                th = np.concatenate([np.broadcast_to(fixed_base, (k, 5)), theta], axis=1)
            a, b, e, al, be = (th[:, j : j + 1] for j in range(5))
            w = weights[rows] if per_problem else weights
            ef = _effective(th, log_n, log_u, r_d)
            t1 = a - al * ef.log_np  # log-sum-exp of the three terms
            t2 = b - be * ef.log_dp
            m = np.maximum(np.maximum(t1, t2), e)
            e1, e2, e3 = np.exp(t1 - m), np.exp(t2 - m), np.exp(e - m)
            s = e1 + e2 + e3
            r = m + np.log(s) - log_l
            u = np.clip(r * inv_delta, -1.0, 1.0)
            h = u * (r - 0.5 * delta * u) * w
            f = h.sum(axis=1)
            c = u * w / s
            g = _gradient(th, ef, log_u, c * e1, c * e2, c * e3)  # df/dt1, df/dt2, df/de
            if fixed_base is not None:
                g = g[:, 5:]
            f = np.where(np.isfinite(f), f, np.inf)
            return f, g

    return chunked(fg, len(log_l))


def _theta_base(law: ChinchillaLaw) -> np.ndarray:
    """A base law as (log A, log B, log E, alpha, beta), the optimisation coordinates."""
    return np.array([math.log(law.A), math.log(law.B), math.log(law.E), law.alpha, law.beta])


def _base_from_theta(th: np.ndarray) -> ChinchillaLaw:
    a, b, e, al, be = (float(v) for v in th[:5])
    with np.errstate(over="ignore"):  # a degenerate optimum gives inf, not OverflowError
        A, B, E = (float(np.exp(v)) for v in (a, b, e))
    return ChinchillaLaw(E=E, A=A, B=B, alpha=al, beta=be)


def _n_params(mode: str) -> int:
    return {"free": 7, "tied": 6, "fixed": 2}[mode]


def _full_theta(theta: np.ndarray, mode: str, fixed_base: np.ndarray | None) -> np.ndarray:
    """(k, P) optimisation vectors -> (k, 7) rows (a, b, e, alpha, beta, log R_D*, log R_N*).

    "free": the identity; "tied": (a, b, e, s, rho_d, rho_n) with alpha = beta = s; "fixed":
    (rho_d, rho_n) after the fixed base's five.
    """
    th = np.atleast_2d(theta)
    if mode == "free":
        return th
    if mode == "tied":
        return np.concatenate([th[:, :4], th[:, 3:4], th[:, 4:]], axis=1)
    assert fixed_base is not None
    return np.concatenate([np.broadcast_to(fixed_base, (th.shape[0], 5)), th], axis=1)


def _objective(
    mode: str,
    fixed_base: np.ndarray | None,
    log_n: np.ndarray,
    log_u: np.ndarray,
    r_d: np.ndarray,
    log_l: np.ndarray,
    weights: np.ndarray,
    delta: float,
) -> BatchObjective:
    """``dc_objective`` in the coordinates of ``mode`` (tied: d/ds = d/dalpha + d/dbeta)."""
    if mode != "tied":
        fb = fixed_base if mode == "fixed" else None
        return dc_objective(log_n, log_u, r_d, log_l, weights, delta, fixed_base=fb)
    fg7 = dc_objective(log_n, log_u, r_d, log_l, weights, delta)

    def fg(theta: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        f, g = fg7(_full_theta(theta, "tied", None), rows)
        return f, np.concatenate([g[:, :3], g[:, 3:4] + g[:, 4:5], g[:, 5:]], axis=1)

    return fg


# R* starts: the notebook used np.linspace(0, 20, 4) for both; here log-spaced and positive
# (R* enters as log R*), spanning the published 15.4 / 5.3 (Muennighoff et al. 2023, §3.1).
R_STAR_STARTS: tuple[float, ...] = (1.0, 3.0, 10.0, 30.0, 100.0)
# R* pairs combined with each base-law start in joint fits: near the published values and on
# either side (a design choice: 3 pairs keep 300 grid points x 3 = 900 starts).
JOINT_R_STAR_STARTS: tuple[tuple[float, float], ...] = ((15.0, 5.0), (5.0, 5.0), (30.0, 15.0))
# Base-law grid points drawn (seeded) from Hoffmann et al. 2022 App. D.2's 4,500 for joint fits.
JOINT_GRID_POINTS: int = 300


def _starts(
    mode: str,
    n_starts: int | None,
    seed: int,
    r_star_starts: Sequence[tuple[float, float]] | None,
) -> np.ndarray:
    """Starting points: (log R_D*, log R_N*) pairs, times base-law grid points when joint."""
    if r_star_starts is None:
        pairs = list(itertools.product(R_STAR_STARTS, R_STAR_STARTS))
        joint_pairs = list(JOINT_R_STAR_STARTS)
    else:
        pairs = joint_pairs = [tuple(p) for p in r_star_starts]
        if not pairs or any(len(p) != 2 or not (p[0] > 0 and p[1] > 0) for p in pairs):
            raise UserError("r_star_starts: give (R_D*, R_N*) pairs of positive numbers")
    if mode == "fixed":
        return np.log(np.array(pairs, dtype=float))
    base = grid_starts(None, JOINT_GRID_POINTS if n_starts is None else n_starts, seed)
    if mode == "tied":  # Hoffmann grid points with beta set to alpha, without duplicates
        base = np.unique(base[:, :4], axis=0)
    base = base[(base[:, 3] > 0) & (base[:, -1] > 0)]  # alpha, beta = 0 make N_u undefined
    r_pick = np.log(np.array(joint_pairs, dtype=float))
    return np.array([np.r_[bb, rp] for bb in base for rp in r_pick])
