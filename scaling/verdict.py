"""The verdict: what the fitted laws imply, in numbers with intervals and in plain sentences.

Built only from the fits and the run records, never from hard-coded values. Losses of different
data types are measured on different held-out domains, so they are never compared directly;
what is compared is how each data type wants compute split between parameters and tokens,
where its unique data runs out, and what it buys on the shared verified task.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

REPEAT_EPOCHS = 4.0  # Muennighoff et al. 2023, §5: up to ~4 epochs of repetition cost little


def _ok(fit: Any) -> bool:
    return fit is not None and not isinstance(fit, dict)


def _interval(x: Any) -> list[float] | None:
    if not x or any(v is None or not math.isfinite(v) for v in x):
        return None
    return [float(x[0]), float(x[1])]


MAX_EXPONENT_WIDTH = 0.5  # a 95% interval wider than this leaves an exponent undetermined


def _width(interval: Any) -> float:
    iv = _interval(interval)
    return iv[1] - iv[0] if iv else float("inf")


def isoflop_constrained(iso: Any) -> bool:
    """At least two interior budgets and a 95% interval of a narrower than 0.5."""
    return (
        _ok(iso)
        and len(iso.interior) >= 2
        and math.isfinite(iso.a)
        and _width(iso.n_opt_law.interval) < MAX_EXPONENT_WIDTH
    )


def parametric_constrained(par: Any) -> bool:
    """Bootstrap intervals of alpha and beta narrower than 0.5 and E's above zero: otherwise the
    five parameters trade off against each other and no single law is supported."""
    if not _ok(par) or not par.intervals:
        return False
    e_iv = _interval(par.intervals.get("E"))
    return (
        _width(par.intervals.get("alpha")) < MAX_EXPONENT_WIDTH
        and _width(par.intervals.get("beta")) < MAX_EXPONENT_WIDTH
        and e_iv is not None
        and e_iv[0] > 1e-3
    )


def d_opt_law(iso: Any, par: Any) -> tuple[str, Any] | None:
    """The D_opt(C) relation to use: the isoFLOP power law when it is constrained, else the
    parametric law's closed form (Hoffmann et al. 2022, eq. 4) when that is; else none."""
    if isoflop_constrained(iso):
        return "isoflop", lambda C: iso.d_opt_law.predict(C)
    if parametric_constrained(par):
        return "parametric", lambda C: par.compute_optimal(C)[1]
    return None


def compute_at_data(d_opt: Any, tokens: float, lo: float = 1e6, hi: float = 1e30) -> float:
    """C at which the compute-optimal token count reaches ``tokens`` (bisection in log C;
    D_opt grows monotonically with C for every law here)."""
    a, b = math.log(lo), math.log(hi)
    if not d_opt(math.exp(a)) < tokens < d_opt(math.exp(b)):
        return float("nan")
    for _ in range(200):
        m = 0.5 * (a + b)
        if d_opt(math.exp(m)) < tokens:
            a = m
        else:
            b = m
    return math.exp(0.5 * (a + b))


def data_wall(iso: Any, par: Any, unique_tokens: float) -> dict[str, Any] | None:
    """Compute beyond which a pool of ``unique_tokens`` binds: the compute-optimal run needs
    more fresh tokens than exist (``fresh``), or more than ~4 epochs of them (``repeated``),
    with bootstrap intervals from the parametric fit when it has them."""
    law = d_opt_law(iso, par)
    if law is None or not unique_tokens or unique_tokens <= 0:
        return None
    source, d_opt = law
    out: dict[str, Any] = {
        "unique_tokens": float(unique_tokens),
        "law": source,
        "fresh_flops": compute_at_data(d_opt, unique_tokens),
        "repeated_flops": compute_at_data(d_opt, REPEAT_EPOCHS * unique_tokens),
        "repeat_epochs": REPEAT_EPOCHS,
    }
    laws = par.bootstrap_laws() if _ok(par) else []
    if laws:
        walls = [
            compute_at_data(lambda C, lw=lw: lw.compute_optimal(C)[1], unique_tokens) for lw in laws
        ]
        walls = [w for w in walls if math.isfinite(w)]
        if len(walls) >= 10:
            out["fresh_flops_interval_parametric"] = [
                float(np.percentile(walls, 2.5)),
                float(np.percentile(walls, 97.5)),
            ]
    return out


def pool_tokens(df: pd.DataFrame, data_type: str) -> float | None:
    """Unique training tokens available to a data type (recorded per run; None if unbounded)."""
    g = df[df.data_type == data_type]
    if "pool_tokens" not in g or g.pool_tokens.isna().all():
        return None
    return float(g.pool_tokens.dropna().max())


def _type_entry(
    df: pd.DataFrame, dt: str, fits: dict[str, Any], unique: float | None, budget: float | None
) -> dict[str, Any]:
    g = df[df.data_type == dt]
    iso, par = fits.get("isoflop"), fits.get("chinchilla")
    e: dict[str, Any] = {"runs": len(g), "loss_domain": str(g.loss_domain.iloc[0])}
    best = g.loc[g.groupby("budget_flops").loss.idxmin()]
    e["best_per_budget"] = [
        {
            "budget_flops": float(r.budget_flops),
            "model": r.model,
            "params": float(r.params),
            "tokens": float(r.tokens),
            "loss": float(r.loss),
        }
        for r in best.itertuples()
    ]
    if _ok(iso):
        e["isoflop"] = {
            "a": iso.a,
            "a_interval": _interval(iso.n_opt_law.interval),
            "b": iso.b,
            "b_interval": _interval(iso.d_opt_law.interval),
            "budgets_used": [m.flops for m in iso.interior],
            "constrained": isoflop_constrained(iso),
            "excluded": {str(k): v for k, v in iso.excluded.items()},
            "minima": [m.to_dict() for m in iso.minima],
        }
    else:
        e["isoflop"] = iso
    if _ok(par):
        e["parametric"] = {k: getattr(par, k) for k in ("E", "A", "B", "alpha", "beta", "a", "b")}
        e["parametric"]["intervals"] = {k: _interval(v) for k, v in par.intervals.items()}
        e["parametric"]["r2"] = par.r2
        e["parametric"]["constrained"] = parametric_constrained(par)
    else:
        e["parametric"] = par
    acc_cols = [c for c in g.columns if c.startswith("acc_") and g[c].notna().any()]
    e["task_accuracy"] = {
        c[4:]: {
            "best": float(g[c].max()),
            "best_run": str(g.loc[g[c].idxmax(), "run_id"]),
            "by_budget": {
                str(float(b)): float(v) for b, v in g.groupby("budget_flops")[c].max().items()
            },
        }
        for c in acc_cols
    }
    pool = unique if unique else pool_tokens(df, dt)
    e["pool_tokens"] = pool
    e["pool_source"] = "given" if unique else ("recorded corpus size" if pool else None)
    e["data_wall"] = data_wall(iso, par, pool) if pool else None
    if budget:
        law = d_opt_law(iso, par)
        if law is not None:
            d = float(law[1](budget))
            e["at_budget"] = {
                "flops": budget,
                "d_opt": d,
                "law": law[0],
                "binds": ("data" if pool and d > pool else "compute") if pool else None,
            }
    return e


def _fmt(x: float | None, digits: int = 3) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:.{digits}g}"


def _iv(iv: list[float] | None) -> str:
    return f" [{iv[0]:.2f}, {iv[1]:.2f}]" if iv else ""


def _statements(per_type: dict[str, Any]) -> list[str]:
    out = []
    for dt, e in per_type.items():
        iso = e.get("isoflop")
        best = e["best_per_budget"][-1]
        s = (
            f"{dt}: at C={_fmt(best['budget_flops'])} FLOPs the best run is {best['model']} "
            f"({_fmt(best['params'])} params on {_fmt(best['tokens'])} tokens, "
            f"{best['tokens'] / best['params']:.0f} tokens/param)."
        )
        if isinstance(iso, dict) and iso.get("constrained"):
            s += (
                f" isoFLOP: N_opt ∝ C^{iso['a']:.2f}{_iv(iso['a_interval'])}, "
                f"D_opt ∝ C^{iso['b']:.2f}{_iv(iso['b_interval'])} (95%)."
            )
        elif isinstance(iso, dict) and "a" in iso and len(iso.get("budgets_used", [])) >= 2:
            s += (
                f" isoFLOP exponent not determined: a = {iso['a']:.2f} with 95% interval"
                f"{_iv(iso['a_interval'])}; more budgets or seeds would narrow it."
            )
        elif isinstance(iso, dict) and iso.get("excluded"):
            reasons = "; ".join(f"C={_fmt(float(c))}: {r}" for c, r in iso["excluded"].items())
            s += f" isoFLOP exponents not determined ({reasons}); widen the model ladder there."
        elif isinstance(iso, dict) and "error" in iso:
            s += f" isoFLOP not fitted: {iso['error']}."
        par = e.get("parametric")
        if isinstance(par, dict) and par.get("constrained"):
            iv = par["intervals"]
            s += (
                f" Parametric law: E={par['E']:.2f}{_iv(iv.get('E'))}, "
                f"alpha={par['alpha']:.2f}{_iv(iv.get('alpha'))}, "
                f"beta={par['beta']:.2f}{_iv(iv.get('beta'))} (R²={par['r2']:.2f}), "
                f"so N_opt ∝ C^{par['a']:.2f}."
            )
        elif isinstance(par, dict) and "alpha" in par:
            iv = par["intervals"]
            s += (
                f" The parametric law is not constrained by {e['runs']} runs (95% intervals: "
                f"alpha{_iv(iv.get('alpha'))}, beta{_iv(iv.get('beta'))}, E{_iv(iv.get('E'))}); "
                "no conclusion is drawn from it."
            )
        for task, acc in e.get("task_accuracy", {}).items():
            s += f" Best verified {task} accuracy: {acc['best']:.0%}."
        wall = e.get("data_wall")
        if wall and math.isfinite(wall["fresh_flops"]):
            s += (
                f" With {_fmt(wall['unique_tokens'])} unique tokens ({e['pool_source']}), "
                f"data binds beyond C≈{_fmt(wall['fresh_flops'], 2)} FLOPs of fresh data, "
                f"≈{_fmt(wall['repeated_flops'], 2)} with {wall['repeat_epochs']:.0f} epochs "
                f"({wall['law']} law)."
            )
        elif e.get("pool_tokens"):
            s += (
                f" Its pool holds {_fmt(e['pool_tokens'])} unique tokens; no constrained law "
                "places the data wall yet."
            )
        out.append(s)
    ratios = {
        dt: e["best_per_budget"][-1]["tokens"] / e["best_per_budget"][-1]["params"]
        for dt, e in per_type.items()
    }
    if len(ratios) >= 2:
        lo, hi = min(ratios, key=ratios.get), max(ratios, key=ratios.get)
        out.append(
            f"At the largest budget, {hi} wants {ratios[hi] / ratios[lo]:.1f}x more tokens per "
            f"parameter than {lo} ({ratios[hi]:.0f} vs {ratios[lo]:.0f}): per unit of compute, "
            f"{lo} data is the more capacity-hungry and the less token-hungry of the two."
        )
    return out


def seconds_per_token(df: pd.DataFrame, data_type: str, costs: Any) -> tuple[float | None, str]:
    """Expert-seconds per unique token of a data type: recorded by its runs (the correction
    pipeline), else the cost file's value, else unknown."""
    col = "data_cost_expert_seconds_per_token"
    g = df[df.data_type == data_type]
    if col in g and g[col].notna().any():
        return float(g[col].median()), "recorded by the runs' correction pipeline"
    if costs is not None and costs.expert_seconds_per_token is not None:
        return float(costs.expert_seconds_per_token), "from the cost file"
    return None, ""


def levers_entry(
    df: pd.DataFrame, dt: str, par: Any, e: dict[str, Any], costs: Any, budget: float | None
) -> dict[str, Any]:
    """Compute versus data for one data type, or the reason it cannot be priced."""
    from scaling.levers import levers

    if not parametric_constrained(par):
        return {"priced": False, "reason": "its parametric law is not constrained by the runs"}
    pool = e.get("pool_tokens")
    if not pool:
        return {"priced": False, "reason": "no unique-data pool: pass --unique-tokens"}
    spt, source = seconds_per_token(df, dt, costs)
    if spt is None:
        return {
            "priced": False,
            "reason": "no cost per token: its runs recorded no expert time; "
            "set expert_seconds_per_token in --costs",
        }
    c = budget or float(df[df.data_type == dt].budget_flops.max())
    lv = levers(
        par,
        c,
        pool,
        costs.dollars_per_flop,
        costs.dollars_per_token(spt),
        bootstrap_laws=par.bootstrap_laws(),
    )
    return {"priced": True, "seconds_per_token": spt, "seconds_source": source, **lv.to_dict()}


def build(
    df: pd.DataFrame,
    fits: dict[str, dict[str, Any]],
    *,
    unique_tokens: float | None = None,
    budget: float | None = None,
    costs: Any = None,
    exchange_bootstrap: int = 100,
) -> dict[str, Any]:
    """The verdict as a JSON-able dict: per data type numbers, exchange rates between data
    types, compute-versus-data levers, and the plain statements."""
    from scaling.costs import CostModel
    from scaling.exchange import all_rates

    costs = costs or CostModel()
    per_type = {dt: _type_entry(df, dt, f, unique_tokens, budget) for dt, f in fits.items()}
    for dt, e in per_type.items():
        e["levers"] = levers_entry(df, dt, fits[dt].get("chinchilla"), e, costs, budget)
    rates = [r.to_dict() for r in all_rates(df, bootstrap=exchange_bootstrap)]
    verdict: dict[str, Any] = {
        "data_types": per_type,
        "exchange_rates": rates,
        "costs": costs.to_dict(),
        "statement": _statements(per_type) + _rate_statements(rates) + _lever_statements(per_type),
        "caveats": [
            "Losses of different data types are on different held-out domains and are not "
            "compared directly.",
            f"Repetition allowance: {REPEAT_EPOCHS:.0f} epochs (Muennighoff et al. 2023, §5).",
        ],
    }
    return verdict


def _num(x: float | None, unit: str = "") -> str:
    if x is None or x == math.inf:
        return "unreachable"
    return f"{x:.3g}{unit}"


def _rate_statements(rates: list[dict[str, Any]]) -> list[str]:
    out = []
    for r in rates:
        kind, what = r["measure"].split(":", 1)
        ref, trt, m = r["reference"], r["treatment"], r["compute_multiplier"]
        if kind == "loss" and str(r.get("note") or "").startswith("not estimated"):
            out.append(
                f"On held-out '{what}', one {trt} token's worth in {ref} tokens is {r['note']}."
            )
            continue
        if kind == "loss":
            t = r["tokens_per_token"]
            iv = r["interval"].get("tokens_per_token")
            if t is None:
                s = (
                    f"On held-out '{what}', no amount of {ref} data matches {trt}'s best run "
                    f"at C={r['budget_flops']:.2g}"
                )
            else:
                s = (
                    f"On held-out '{what}', one {trt} token is worth {_num(t)} {ref} tokens"
                    + (f" (95% [{_num(iv[0])}, {_num(iv[1])}])" if iv else "")
                    + f", and {trt}'s best run at C={r['budget_flops']:.2g} equals "
                    f"{_num(m, 'x')} its compute spent on {ref} data"
                )
        elif str(r.get("note") or "").startswith("not estimated"):
            s = (
                f"On the verified task '{what}', the compute {ref} data needs to match {trt} "
                f"is {r['note']}."
            )
            out.append(s)
            continue
        elif m is None:
            s = (
                f"On the verified task '{what}', {ref} data does not reach {trt}'s best "
                "accuracy at any compute in this sweep"
            )
        else:
            s = (
                f"On the verified task '{what}', {ref} data needs {_num(m, 'x')} the compute "
                f"of {trt}'s best run at C={r['budget_flops']:.2g} to match its accuracy"
            )
        s += f" ({r['note']})." if r.get("note") else "."
        out.append(s)
    return out


def _lever_statements(per_type: dict[str, Any]) -> list[str]:
    out = []
    for dt, e in per_type.items():
        lv = e.get("levers") or {}
        if not lv.get("priced"):
            out.append(f"{dt}: compute versus data not priced: {lv.get('reason', 'n/a')}.")
            continue
        iv = lv["intervals"].get("ratio_data_to_compute")
        out.append(
            f"{dt}: at C={lv['flops']:.2g} FLOPs with {lv['unique_tokens']:.3g} unique tokens, "
            f"$1M of compute lowers loss by {lv['compute_gain_per_million']:.3g} nats and $1M of "
            f"expert-corrected data ({lv['seconds_per_token']:.3g} expert-s/token, "
            f"{lv['seconds_source']}) by {lv['data_gain_per_million']:.3g}: {lv['binds']} binds"
            + (f" (data/compute ratio 95% interval [{iv[0]:.3g}, {iv[1]:.3g}])" if iv else "")
            + "."
        )
    return out


def to_text(v: dict[str, Any]) -> str:
    return "Verdict\n" + "\n".join(f"- {s}" for s in v["statement"])


def to_markdown(v: dict[str, Any], summary: dict[str, Any]) -> str:
    lines = [
        f"# Verdict: {summary.get('path', '')}",
        "",
        f"{summary.get('runs')} runs; data types {', '.join(summary.get('data_types', []))}; "
        f"budgets {', '.join(_fmt(b) for b in summary.get('budgets', []))} FLOPs "
        f"({', '.join(summary.get('flops_convention', []))}).",
        "",
    ]
    lines += [f"- {s}" for s in v["statement"]]
    lines += [
        "",
        "| data type | best run at largest budget | tokens/param | isoFLOP a | "
        "parametric a | best accuracy | data wall (fresh) |",
        "|---|---|---|---|---|---|---|",
    ]
    for dt, e in v["data_types"].items():
        best = e["best_per_budget"][-1]
        iso = e.get("isoflop") or {}
        par = e.get("parametric") or {}
        acc = max((a["best"] for a in e.get("task_accuracy", {}).values()), default=None)
        wall = (e.get("data_wall") or {}).get("fresh_flops")
        a_iso = _fmt(iso.get("a")) if len(iso.get("budgets_used", [])) >= 2 else "edge"
        lines.append(
            f"| {dt} | {best['model']} ({_fmt(best['params'])}) | "
            f"{best['tokens'] / best['params']:.0f} | {a_iso} | {_fmt(par.get('a'))} | "
            f"{'n/a' if acc is None else f'{acc:.0%}'} | {_fmt(wall, 2)} |"
        )
    lines += ["", "Caveats:"] + [f"- {c}" for c in v["caveats"]]
    return "\n".join(lines) + "\n"
