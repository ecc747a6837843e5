"""The verdict: what the fitted laws imply, as typed results with intervals. No torch, no Hydra.

Built only from the fits and the run records. Every quantity is an ``Estimate`` (a value with its
95% interval) or an ``Undetermined`` (the reason there is none and what would fix it), and every
law passes the validity gates of ``analysis.gates`` before any quantity is drawn from it. The
sentences are written by ``scaling.analysis.verdict_text`` from these typed results.

Closed forms use the FLOP convention the runs were recorded in (``scaling.fit.allocation``).
Losses of different data types are measured on their own held-out domains, so they are compared
only through the exchange rates on a shared domain or task (``scaling.analysis.exchange``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from scaling.analysis.estimate import Estimate, Result, Undetermined, from_samples
from scaling.analysis.gates import Gate, isoflop_gate, parametric_gate
from scaling.analysis.pricing import levers_entry, seconds_per_token  # noqa: F401 (verdict API)
from scaling.fit.allocation import flop_model

REPEAT_EPOCHS = 4.0  # Muennighoff et al. 2023, §5: up to ~4 epochs of repetition cost little


# --------------------------------------------------------------------------- compute-optimal


class Optimum:
    """The compute-optimal relation C -> (N_opt, D_opt) of one data type, with bootstrap
    replicates: from the isoFLOP power laws when they pass the gates (they measure the minima
    directly), else from the parametric law under the recorded FLOP convention."""

    def __init__(self, source: str, point: Any, replicates: list[Any], c_range: tuple) -> None:
        self.source = source
        self.point = point  # C -> (N, D)
        self.replicates = replicates
        self.c_range = c_range

    def at(self, C: float) -> tuple[Result, Result, Result, np.ndarray]:
        """N_opt, D_opt, tokens per parameter at C, and the replicate ratio samples."""
        n, d = self.point(C)
        reps = np.array([r(C) for r in self.replicates], dtype=float).reshape(-1, 2)
        extrap = not (self.c_range[0] <= C <= self.c_range[1])
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = reps[:, 1] / reps[:, 0]
        kw = {"extrapolated": extrap}
        return (
            from_samples(n, reps[:, 0], unit="params", what="N_opt", **kw),
            from_samples(d, reps[:, 1], unit="tokens", what="D_opt", **kw),
            from_samples(d / n, ratio, what="tokens per parameter", **kw),
            ratio,
        )

    def compute_at_tokens(self, tokens: float) -> tuple[Result, np.ndarray]:
        """C at which D_opt(C) reaches ``tokens`` (bisection in log C), with replicates."""
        from scaling.fit.allocation import C_WINDOW, bisect_log

        def solve(rel: Any) -> float:
            s = bisect_log(lambda c: rel(c)[1], tokens, *C_WINDOW, rising=True)
            return (
                s.value if s.status == "ok" else (0.0 if s.status == "below_window" else math.inf)
            )

        value = solve(self.point)
        reps = np.array([solve(r) for r in self.replicates], dtype=float)
        extrap = math.isfinite(value) and not (self.c_range[0] <= value <= self.c_range[1])
        if not math.isfinite(value):
            return Undetermined("D_opt never reaches this pool within `1e30` FLOPs"), reps
        return (
            from_samples(value, reps, unit="FLOPs", extrapolated=extrap, what="the data wall"),
            reps,
        )


def _power(coef: float, exponent: float) -> Any:
    return lambda C: coef * C**exponent


def isoflop_optimum(iso: Any, c_range: tuple) -> Optimum | None:
    """Power laws N_opt = coef C^a, D_opt = coef C^b with their bootstrap replicates (the
    replicate coefficients and exponents are stored by ``fit_isoflop``'s bootstrap)."""
    s = iso.bootstrap_samples or {}
    if not all(k in s for k in ("a", "b", "n_coef", "d_coef")):
        return None
    point_n = _power(iso.n_opt_law.coef, iso.a)
    point_d = _power(iso.d_opt_law.coef, iso.b)
    reps = []
    for a, b, cn, cd in zip(s["a"], s["b"], s["n_coef"], s["d_coef"], strict=True):
        if all(math.isfinite(v) for v in (a, b, cn, cd)):
            reps.append(lambda C, a=a, b=b, cn=cn, cd=cd: (cn * C**a, cd * C**b))
    return Optimum("isoflop", lambda C: (point_n(C), point_d(C)), reps, c_range)


def parametric_optimum(par: Any, fm: Any, c_range: tuple) -> Optimum:
    """argmin_N L(N, C / (k(N) N)) of the parametric law and of each bootstrap refit."""
    from scaling.fit.allocation import compute_optimal

    def rel(law: Any) -> Any:
        def f(C: float) -> tuple[float, float]:
            a = compute_optimal(law, C, fm)
            return a.n_opt, a.d_opt

        return f

    return Optimum("parametric", rel(par), [rel(b) for b in par.bootstrap_laws()], c_range)


# --------------------------------------------------------------------------- per data type


def _iv(fit: Any, name: str) -> Result:
    """A fitted parameter with its bootstrap interval from ``fit.intervals``."""
    iv = (fit.intervals or {}).get(name)
    value = float(getattr(fit, name))
    if not iv or any(v is None or not math.isfinite(v) for v in iv):
        return Undetermined(f"{name} has no finite bootstrap interval")
    return Estimate(value, float(iv[0]), float(iv[1]))


def _law_entry(gate: Gate, fit: Any, names: tuple[str, ...]) -> dict[str, Any]:
    entry: dict[str, Any] = {"gate": gate}
    if gate.usable:
        for k in names:
            entry[k] = _iv(fit, k)
    return entry


def _iso_entry(iso: Any) -> dict[str, Any]:
    gate = isoflop_gate(iso)
    entry: dict[str, Any] = {"gate": gate}
    if gate.usable:
        for k, law in (("a", iso.n_opt_law), ("b", iso.d_opt_law)):
            lo, hi = law.interval
            entry[k] = Estimate(
                float(law.exponent), float(lo), float(hi), method=law.interval_method
            )
        entry["budgets"] = [m.flops for m in iso.used]
    elif hasattr(iso, "minima"):
        entry["edge_budgets"] = [m.flops for m in iso.minima if not m.used]
    return entry


def choose_optimum(iso: Any, par: Any, g: pd.DataFrame) -> Optimum | Undetermined:
    """The compute-optimal relation to use, or why there is none."""
    c_range = (float(g.flops.min()), float(g.flops.max()))
    ig, pg = isoflop_gate(iso), parametric_gate(par)
    if ig.usable:
        opt = isoflop_optimum(iso, c_range)
        if opt is not None:
            return opt
    if pg.usable:
        return parametric_optimum(par, flop_model(g), c_range)
    return Undetermined(
        "neither the isoFLOP nor the parametric law passes the validity gates (reasons above)",
        ig.fix() or pg.fix(),
    )


def noise_floor(df: pd.DataFrame) -> Result:
    """Run-to-run noise of the loss from seed replicates: the pooled standard deviation of log
    loss over grid points with two or more seeds, with a chi-square interval (Cochran 1934)."""
    from scipy.special import chdtri  # inverse upper tail of chi-square (light to import)

    key = [c for c in ("data_type", "model", "budget_flops") if c in df]
    if "seed" not in df or df.seed.nunique() < 2:
        return Undetermined(
            "one seed per grid point, so run-to-run noise is not measured and intervals "
            "resample runs only",
            "add seeds (e.g. `seed=0,1,2`) to replicate the grid",
        )
    ll = np.log(df.loss.astype(float))
    grp = df.assign(ll=ll).groupby(key).ll
    ss = float(((ll - grp.transform("mean")) ** 2).sum())
    dof = int((grp.count() - 1).clip(lower=0).sum())
    if dof < 1:
        return Undetermined("no grid point has two seeds", "replicate a grid point")
    s = math.sqrt(ss / dof)
    lo = math.sqrt(ss / chdtri(dof, 0.025))  # chi2.ppf(0.975, dof)
    hi = math.sqrt(ss / chdtri(dof, 0.975))  # chi2.ppf(0.025, dof)
    return Estimate(s, lo, hi, unit="in log loss", method="chi-square", n_samples=dof)


def type_entry(
    df: pd.DataFrame,
    dt: str,
    fits: dict[str, Any],
    unique: float | None,
    budget: float | None,
) -> dict[str, Any]:
    """Everything the verdict says about one data type, typed."""
    from scaling.analysis.exchange import accuracy_estimate

    g = df[df.data_type == dt]
    iso, par = fits.get("isoflop"), fits.get("chinchilla")
    c_top = float(g.budget_flops.max())
    e: dict[str, Any] = {
        "runs": len(g),
        "loss_domain": str(g.loss_domain.iloc[0]) if "loss_domain" in g else dt,
        "budgets": sorted(float(b) for b in g.budget_flops.unique()),
        "isoflop": _iso_entry(iso),
        "parametric": _law_entry(parametric_gate(par), par, ("E", "alpha", "beta", "a", "b")),
    }
    opt = choose_optimum(iso, par, g)
    e["optimum_source"] = opt.source if isinstance(opt, Optimum) else None
    at = budget or c_top
    if isinstance(opt, Optimum):
        n, d, r, ratio = opt.at(at)
        e["at_budget"] = {"flops": at, "n_opt": n, "d_opt": d, "tokens_per_param": r}
        e["_ratio_samples"] = ratio
        e["_optimum"] = opt
    else:
        e["at_budget"] = {"flops": at, "undetermined": opt}
    e["task_accuracy"] = {}
    for c in (c for c in g.columns if c.startswith("acc_") and g[c].notna().any()):
        task = c[4:]
        run = g.loc[g[c].idxmax()]
        n_col = f"task_n_{task}"
        n_prob = float(run[n_col]) if n_col in g and pd.notna(run.get(n_col)) else math.nan
        e["task_accuracy"][task] = {
            "best": accuracy_estimate(float(run[c]), n_prob),
            "run": str(run.run_id),
            "model": str(run.model),
            "budget_flops": float(run.budget_flops),
        }
    pool = unique or pool_tokens(df, dt)
    e["pool_tokens"] = pool
    e["pool_source"] = "given" if unique else ("recorded corpus size" if pool else None)
    e["data_wall"] = data_wall(opt, pool) if pool else None
    if pool and isinstance(opt, Optimum) and isinstance(e["at_budget"].get("d_opt"), Estimate):
        d_est = e["at_budget"]["d_opt"]
        e["binds_at_budget"] = (
            "data" if d_est.lo > pool else ("compute" if d_est.hi < pool else "undetermined")
        )
    return e


def pool_tokens(df: pd.DataFrame, data_type: str) -> float | None:
    """Unique training tokens available to a data type (recorded per run; None if unbounded)."""
    g = df[df.data_type == data_type]
    if "pool_tokens" not in g or g.pool_tokens.isna().all():
        return None
    return float(g.pool_tokens.dropna().max())


def data_wall(opt: Optimum | Undetermined, unique_tokens: float) -> dict[str, Any]:
    """Compute beyond which a pool of U unique tokens binds: the compute-optimal run needs more
    fresh tokens than exist, or more than ``REPEAT_EPOCHS`` epochs of them."""
    if not isinstance(opt, Optimum):
        return {"unique_tokens": unique_tokens, "fresh": opt, "repeated": opt}
    fresh, _ = opt.compute_at_tokens(unique_tokens)
    repeated, _ = opt.compute_at_tokens(REPEAT_EPOCHS * unique_tokens)
    return {
        "unique_tokens": float(unique_tokens),
        "law": opt.source,
        "fresh": fresh,
        "repeated": repeated,
        "repeat_epochs": REPEAT_EPOCHS,
    }


def ratio_between(per_type: dict[str, Any]) -> dict[str, Any] | None:
    """Tokens per parameter of two data types at the same budget, as a ratio with an interval
    from independent bootstrap replicates of each (paired by index)."""
    have = {
        dt: e
        for dt, e in per_type.items()
        if isinstance(e["at_budget"].get("tokens_per_param"), Estimate)
    }
    if len(per_type) < 2:
        return None
    if len(have) < 2:
        missing = sorted(set(per_type) - set(have))
        return {
            "undetermined": Undetermined(
                f"no compute-optimal tokens per parameter with an interval for "
                f"{', '.join(missing)}",
                "more budgets, a wider model ladder or seeds",
            )
        }
    budgets = {e["at_budget"]["flops"] for e in have.values()}
    if len(budgets) > 1:
        return {"undetermined": Undetermined("the data types' largest budgets differ")}
    (hi_t, e_hi), (lo_t, e_lo) = sorted(
        have.items(), key=lambda kv: -kv[1]["at_budget"]["tokens_per_param"].value
    )[:2]
    k = min(len(e_hi["_ratio_samples"]), len(e_lo["_ratio_samples"]))
    with np.errstate(divide="ignore", invalid="ignore"):
        samples = e_hi["_ratio_samples"][:k] / e_lo["_ratio_samples"][:k]
    value = (
        e_hi["at_budget"]["tokens_per_param"].value / e_lo["at_budget"]["tokens_per_param"].value
    )
    return {
        "more": hi_t,
        "less": lo_t,
        "flops": budgets.pop(),
        "ratio": from_samples(value, samples, what="the ratio of tokens per parameter"),
    }


# --------------------------------------------------------------------------- build


def build(
    df: pd.DataFrame,
    fits: dict[str, dict[str, Any]],
    *,
    unique_tokens: float | None = None,
    budget: float | None = None,
    costs: Any = None,
    exchange_bootstrap: int = 100,
) -> dict[str, Any]:
    """The verdict: typed per-data-type results, the tokens-per-parameter comparison, exchange
    rates, levers, the noise floor, and the sentences (``statement``) written from them."""
    from scaling.analysis import verdict_text
    from scaling.analysis.process import process_contrasts
    from scaling.analysis.rates import all_rates
    from scaling.core.costs import CostModel

    costs = costs or CostModel()
    per_type = {dt: type_entry(df, dt, f, unique_tokens, budget) for dt, f in fits.items()}
    for dt, e in per_type.items():
        e["levers"] = levers_entry(df, dt, fits[dt].get("chinchilla"), e, costs, budget)
    v: dict[str, Any] = {
        "data_types": per_type,
        "tokens_per_param_ratio": ratio_between(per_type),
        "exchange_rates": all_rates(df, bootstrap=exchange_bootstrap),
        "process_vs_output": process_contrasts(df),
        "noise_floor": noise_floor(df),
        "costs": costs.to_dict(),
        "flops_convention": sorted(df.flops_convention.unique().tolist())
        if "flops_convention" in df
        else [],
    }
    v["statement"] = verdict_text.statements(v)
    v["caveats"] = verdict_text.caveats(v)
    return v


def to_jsonable(v: Any) -> Any:
    """The verdict with typed results turned into plain JSON (private ``_`` keys dropped)."""
    from scaling.core.io import jsonable

    return jsonable(v, drop_private=True)


def to_text(v: dict[str, Any]) -> str:
    from scaling.analysis import verdict_text

    return verdict_text.to_text(v)


def to_markdown(v: dict[str, Any], summary: dict[str, Any]) -> str:
    from scaling.analysis import verdict_text

    return verdict_text.to_markdown(v, summary)
