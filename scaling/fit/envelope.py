"""Lower envelope of learning curves (Chinchilla approach 1).

Hoffmann et al. 2022, §3.1: train each model size for several horizons, smooth and interpolate
every training curve, take for each FLOP count the run with the lowest loss (the lower envelope
of all curves, computed at 1,500 log-spaced FLOP values), then fit power laws N_opt ∝ C^a and
D_opt ∝ C^b to the model size and tokens at the envelope.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from scaling.core.errors import UserError
from scaling.fit._common import jsonable, need_points
from scaling.fit.powerlaw import PowerLaw, fit_power_law

REQUIRED = ("run", "flops", "loss", "params", "tokens")


@dataclass(frozen=True)
class EnvelopeFit:
    """The envelope (one row per FLOP level) and the power laws fitted to it.

    ``flops``, ``loss``, ``run``, ``params``, ``tokens`` describe the envelope on the FLOP grid;
    ``used`` marks the points that entered the power laws (edge models excluded when
    ``exclude_edges``: where the smallest or largest model is best, the true optimum may lie
    outside the sampled sizes).
    """

    flops: np.ndarray = field(compare=False, repr=False)
    loss: np.ndarray = field(compare=False, repr=False)
    run: np.ndarray = field(compare=False, repr=False)
    params: np.ndarray = field(compare=False, repr=False)
    tokens: np.ndarray = field(compare=False, repr=False)
    used: np.ndarray = field(compare=False, repr=False)
    n_opt_law: PowerLaw
    d_opt_law: PowerLaw
    n_runs: int = 0
    n_bins: int = 0
    exclusion: str | None = None

    @property
    def a(self) -> float:
        return self.n_opt_law.exponent

    @property
    def b(self) -> float:
        return self.d_opt_law.exponent

    @property
    def ci(self) -> float:
        """Coverage of the exponent intervals."""
        return self.n_opt_law.ci

    @property
    def r2(self) -> float:
        """R^2 (log-log) of the N_opt power law."""
        return self.n_opt_law.r2

    def frame(self) -> pd.DataFrame:
        """The envelope as a DataFrame (flops, loss, run, params, tokens, used)."""
        return pd.DataFrame(
            {
                "flops": self.flops,
                "loss": self.loss,
                "run": self.run,
                "params": self.params,
                "tokens": self.tokens,
                "used": self.used,
            }
        )

    def summary(self) -> dict[str, tuple[float, tuple[float, float] | None]]:
        return {
            "a (N_opt ∝ C^a)": (self.a, self.n_opt_law.interval),
            "b (D_opt ∝ C^b)": (self.b, self.d_opt_law.interval),
            "envelope points used": (float(self.used.sum()), None),
        }

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "law": "envelope",
                "a": self.a,
                "b": self.b,
                "n_opt_law": self.n_opt_law.to_dict(),
                "d_opt_law": self.d_opt_law.to_dict(),
                "n_runs": self.n_runs,
                "n_bins": self.n_bins,
                "n_used": int(self.used.sum()),
                "exclusion": self.exclusion,
                "envelope_runs": sorted({str(r) for r in self.run[self.used]}),
                "note": "interval of the exponents: regression standard error over envelope "
                "points, which are not independent; treat it as a lower bound",
            }
        )


def _check(curves: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in REQUIRED if c not in curves.columns]
    if missing:
        raise UserError(
            f"envelope: missing column(s) {missing}; need {list(REQUIRED)}, "
            f"present: {list(curves.columns)}"
        )
    df = curves[list(REQUIRED)].copy()
    for c in ("flops", "loss", "params", "tokens"):
        v = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
        bad = ~(np.isfinite(v) & (v > 0))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise UserError(
                f"envelope: column '{c}' must be finite and > 0; first bad value "
                f"{df[c].iloc[i]!r} at row {i}"
            )
        df[c] = v
    return df


def fit_envelope(
    curves: pd.DataFrame,
    *,
    n_bins: int = 1500,
    min_runs: int = 2,
    exclude_edges: bool = True,
    ci: float = 0.95,
) -> EnvelopeFit:
    """Approach 1 of Hoffmann et al. 2022 (§3.1): the lower envelope of loss over FLOPs.

    ``curves`` has one row per logged point: run, flops, loss, params, tokens. Each run's loss
    is interpolated linearly in log FLOPs on ``n_bins`` log-spaced FLOP values (1,500 in the
    paper) within its own range; at each value the run with the lowest loss is the envelope,
    where at least ``min_runs`` runs are available. Its N and its tokens (interpolated in log
    space) give N_opt(C) and D_opt(C), fitted as power laws in C.
    """
    df = _check(curves)
    runs = list(dict.fromkeys(df["run"].tolist()))
    need_points("envelope", len(runs), 2, "runs")
    if n_bins < 2:
        raise UserError(f"n_bins: must be >= 2, got {n_bins}")
    lf_all = np.log(df["flops"].to_numpy())
    grid = np.linspace(lf_all.min(), lf_all.max(), n_bins)
    n_run = len(runs)
    L = np.full((n_run, n_bins), np.inf)
    T = np.full((n_run, n_bins), np.nan)
    P = np.zeros(n_run)
    for j, (_, g) in enumerate(df.groupby("run", sort=False)):
        g = g.sort_values("flops")
        lf = np.log(g["flops"].to_numpy())
        lf, first = np.unique(lf, return_index=True)
        loss = g["loss"].to_numpy()[first]
        ltok = np.log(g["tokens"].to_numpy()[first])
        P[j] = float(np.median(g["params"].to_numpy()))
        inside = (grid >= lf[0]) & (grid <= lf[-1])
        if len(lf) == 1:
            inside &= np.isclose(grid, lf[0])
        L[j, inside] = np.interp(grid[inside], lf, loss)
        T[j, inside] = np.exp(np.interp(grid[inside], lf, ltok))
    covered = np.isfinite(L).sum(axis=0) >= min_runs
    if covered.sum() < 2:
        raise UserError(
            f"envelope: fewer than 2 FLOP values are covered by at least {min_runs} runs; "
            "the learning curves must overlap in FLOPs"
        )
    best = np.argmin(L, axis=0)
    cols = np.arange(n_bins)
    env_loss = L[best, cols]
    env_p = P[best]
    env_t = T[best, cols]
    run_ids = np.array(runs, dtype=object)[best]
    used = covered.copy()
    exclusion = None
    if exclude_edges:
        edge = (env_p <= P.min()) | (env_p >= P.max())
        used &= ~edge
        exclusion = "points where the smallest or largest model is on the envelope"
    if used.sum() < 2 or len(np.unique(env_p[used])) < 2:
        raise UserError(
            "envelope: the envelope needs at least 2 distinct interior model sizes to fit "
            f"N_opt ∝ C^a (got {len(np.unique(env_p[used]))}); add model sizes or pass "
            "exclude_edges=False"
        )
    C = np.exp(grid)
    n_law = fit_power_law(C[used], env_p[used], ci=ci)
    d_law = fit_power_law(C[used], env_t[used], ci=ci)
    sel = covered
    return EnvelopeFit(
        flops=C[sel],
        loss=env_loss[sel],
        run=run_ids[sel],
        params=env_p[sel],
        tokens=env_t[sel],
        used=used[sel],
        n_opt_law=n_law,
        d_opt_law=d_law,
        n_runs=n_run,
        n_bins=n_bins,
        exclusion=exclusion,
    )
