"""Lower envelope of learning curves (Chinchilla approach 1).

Hoffmann et al. 2022, §3.1: train each model size for several horizons, smooth and interpolate
every training curve, take for each FLOP count the run with the lowest loss (the lower envelope
of all curves, computed at 1,500 log-spaced FLOP values), then fit power laws N_opt ∝ C^a and
D_opt ∝ C^b to the model size and tokens at the envelope. The curves are columns of numbers
(any mapping or table indexable by column name, read with numpy); the result holds arrays.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scaling.core.errors import UserError
from scaling.fit._common import jsonable, need_points, same_length
from scaling.fit.powerlaw import PowerLaw, fit_power_law

REQUIRED = ("run", "flops", "loss", "params", "tokens")
NUMERIC = ("flops", "loss", "params", "tokens")

# Columns by name: a dict of arrays or lists, a pandas DataFrame, a numpy structured array.
Columns = Mapping[str, Any] | Any


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

    def columns(self) -> dict[str, np.ndarray]:
        """The envelope as columns (flops, loss, run, params, tokens, used), one row per FLOP
        value; e.g. ``pandas.DataFrame(fit.columns())``."""
        return {
            "flops": self.flops,
            "loss": self.loss,
            "run": self.run,
            "params": self.params,
            "tokens": self.tokens,
            "used": self.used,
        }

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


def _names(curves: Columns) -> list[Any]:
    """The column names of ``curves`` (a mapping's keys, a table's or structured array's)."""
    if hasattr(curves, "columns"):
        return list(curves.columns)
    if hasattr(curves, "keys"):
        return list(curves)
    names = getattr(getattr(curves, "dtype", None), "names", None)
    if names:
        return list(names)
    raise UserError(
        f"envelope: expected columns by name (a mapping or table), got {type(curves).__name__}"
    )


def _numbers(name: str, values: Any) -> np.ndarray:
    """A column as floats, each entry that is not a number NaN; ``UserError`` naming the first
    entry that is not finite and > 0."""
    raw = np.asarray(values).reshape(-1)
    try:
        v = raw.astype(float)
    except (TypeError, ValueError):
        v = np.array([_to_float(x) for x in raw.tolist()], dtype=float)
    bad = ~(np.isfinite(v) & (v > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise UserError(
            f"envelope: column '{name}' must be finite and > 0; first bad value "
            f"{raw[i]!r} at row {i}"
        )
    return v


def _to_float(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def _check(curves: Columns) -> dict[str, Any]:
    """The required columns: ``run`` as a list of ids, the others as positive floats."""
    present = _names(curves)
    missing = [c for c in REQUIRED if c not in present]
    if missing:
        raise UserError(
            f"envelope: missing column(s) {missing}; need {list(REQUIRED)}, present: {present}"
        )
    cols: dict[str, Any] = {c: _numbers(c, curves[c]) for c in NUMERIC}
    run = np.asarray(curves["run"]).reshape(-1).tolist()
    same_length(run=np.empty(len(run)), **cols)
    missing_id = [i for i, r in enumerate(run) if r is None or (isinstance(r, float) and r != r)]
    if missing_id:
        raise UserError(f"envelope: column 'run' has no value at row {missing_id[0]}")
    cols["run"] = run
    return cols


def fit_envelope(
    curves: Columns,
    *,
    n_bins: int = 1500,
    min_runs: int = 2,
    exclude_edges: bool = True,
    ci: float = 0.95,
) -> EnvelopeFit:
    """Approach 1 of Hoffmann et al. 2022 (§3.1): the lower envelope of loss over FLOPs.

    ``curves`` has one row per logged point in columns run, flops, loss, params, tokens (a
    mapping of arrays, a table, anything indexable by column name). Each run's loss is
    interpolated linearly in log FLOPs on ``n_bins`` log-spaced FLOP values (1,500 in the
    paper) within its own range; at each value the run with the lowest loss is the envelope,
    where at least ``min_runs`` runs are available. Its N and its tokens (interpolated in log
    space) give N_opt(C) and D_opt(C), fitted as power laws in C.
    """
    cols = _check(curves)
    runs = list(dict.fromkeys(cols["run"]))
    need_points("envelope", len(runs), 2, "runs")
    if n_bins < 2:
        raise UserError(f"n_bins: must be >= 2, got {n_bins}")
    lf_all = np.log(cols["flops"])
    grid = np.linspace(lf_all.min(), lf_all.max(), n_bins)
    L, T, P = _on_grid(cols, runs, grid)
    covered = np.isfinite(L).sum(axis=0) >= min_runs
    if covered.sum() < 2:
        raise UserError(
            f"envelope: fewer than 2 FLOP values are covered by at least {min_runs} runs; "
            "the learning curves must overlap in FLOPs"
        )
    best, cols_i = np.argmin(L, axis=0), np.arange(n_bins)
    env_p, env_t = P[best], T[best, cols_i]
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
    C, sel = np.exp(grid), covered
    return EnvelopeFit(
        flops=C[sel],
        loss=L[best, cols_i][sel],
        run=np.array(runs, dtype=object)[best][sel],
        params=env_p[sel],
        tokens=env_t[sel],
        used=used[sel],
        n_opt_law=fit_power_law(C[used], env_p[used], ci=ci),
        d_opt_law=fit_power_law(C[used], env_t[used], ci=ci),
        n_runs=len(runs),
        n_bins=n_bins,
        exclusion=exclusion,
    )


def _on_grid(
    cols: dict[str, Any], runs: list[Any], grid: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(loss, tokens) of each run (rows) on the log-FLOP ``grid`` (inf / NaN outside the run's
    own FLOP range), and each run's N (the median over its rows)."""
    rows: dict[Any, list[int]] = {}
    for i, r in enumerate(cols["run"]):
        rows.setdefault(r, []).append(i)
    n_run, n_bins = len(runs), len(grid)
    L = np.full((n_run, n_bins), np.inf)
    T = np.full((n_run, n_bins), np.nan)
    P = np.zeros(n_run)
    for j, r in enumerate(runs):
        idx = np.array(rows[r])
        idx = idx[np.argsort(cols["flops"][idx], kind="quicksort")]  # as pandas sort_values
        lf = np.log(cols["flops"][idx])
        lf, first = np.unique(lf, return_index=True)
        loss = cols["loss"][idx][first]
        ltok = np.log(cols["tokens"][idx][first])
        P[j] = float(np.median(cols["params"][idx]))
        inside = (grid >= lf[0]) & (grid <= lf[-1])
        if len(lf) == 1:
            inside &= np.isclose(grid, lf[0])
        L[j, inside] = np.interp(grid[inside], lf, loss)
        T[j, inside] = np.exp(np.interp(grid[inside], lf, ltok))
    return L, T, P
