"""Exchange rates between data types: what a token of one kind is worth in tokens or compute of
another, measured on a shared held-out domain or on a shared verified task. No torch.

Definitions (effective-data transfer, after Hernandez et al. 2021, "Scaling Laws for Transfer",
§2: the effective data transferred is the extra reference data a model of the same size would
need to reach the same loss):

- token exchange rate on domain S: for a treatment run (N, D_T, loss L_T on S), the reference
  tokens D_R at which the reference law fitted on S gives L_R(N, D_R) = L_T; rate = D_R / D_T.
  "One treatment token is worth ``rate`` reference tokens." Infinite when L_T lies below the
  reference law's infinite-data loss at that N (no amount of reference data matches it).
- compute-equivalent multiplier on domain S: the compute C_R at which the reference's
  compute-optimal frontier min_N L_R(N, C_R / 6N) reaches L_T, over the treatment run's compute.
- on a task: C_R at which the reference's best accuracy per budget (a sigmoid in log compute,
  fitted) reaches the treatment run's accuracy; infinite when the reference never leaves its
  floor within the sweep.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from scaling.errors import UserError


@dataclass(frozen=True)
class ExchangeRate:
    """Treatment vs reference on one shared domain or task, at the treatment's largest budget."""

    reference: str
    treatment: str
    measure: str  # "loss:<domain>" or "task:<name>"
    budget_flops: float
    treatment_run: str
    tokens_per_token: float  # reference tokens one treatment token is worth (loss measures)
    compute_multiplier: float  # reference compute / treatment compute for the same result
    interval: dict[str, list[float]] = field(default_factory=dict)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()
        }


def tokens_to_match(law: Any, n: float, loss: float, d_max: float = 1e30) -> float:
    """D with law.predict(n, D) = loss (bisection in log D; the law falls monotonically in D).
    Infinite when ``loss`` is at or below the law's limit E + A/N^alpha."""
    floor = float(law.predict(n, d_max))
    if loss <= floor:
        return math.inf
    lo, hi = 0.0, math.log(d_max)
    if float(law.predict(n, math.exp(lo))) <= loss:
        return 0.0  # worse than the reference law gives from a single token: worth nothing
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if float(law.predict(n, math.exp(mid))) > loss:
            lo = mid
        else:
            hi = mid
    return math.exp(0.5 * (lo + hi))


def frontier_loss(law: Any, flops: float) -> float:
    """min over N of L(N, C / 6N): the compute-optimal loss of the law at compute C
    (Hoffmann et al. 2022, eq. 4 for the minimiser)."""
    n_opt, d_opt = law.compute_optimal(flops)
    if not (math.isfinite(n_opt) and math.isfinite(d_opt)):
        return math.nan
    return float(law.predict(n_opt, d_opt))


def compute_to_match(law: Any, loss: float, c_max: float = 1e35) -> float:
    """C at which the law's compute-optimal frontier reaches ``loss`` (inf below its E)."""
    if loss <= law.E:
        return math.inf
    lo, hi = math.log(1e3), math.log(c_max)
    if frontier_loss(law, math.exp(lo)) <= loss:
        return 0.0  # worse than the reference's frontier at negligible compute
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if frontier_loss(law, math.exp(mid)) > loss:
            lo = mid
        else:
            hi = mid
    return math.exp(0.5 * (lo + hi))


def shared_domains(df: pd.DataFrame) -> list[str]:
    """Held-out domains every run was scored on, with the same source (``evalspec_<domain>``,
    where recorded): a domain rendered differently per data type is not shared."""
    out = []
    for c in df.columns:
        if not (c.startswith("val_") and c.endswith("_loss") and df[c].notna().all()):
            continue
        domain = c[len("val_") : -len("_loss")]
        spec = f"evalspec_{domain}"
        if spec in df.columns and df[spec].nunique(dropna=False) > 1:
            continue
        out.append(domain)
    return sorted(out)


def _percentiles(values: list[float]) -> list[float] | None:
    """2.5 and 97.5 percentiles; infinite values (unreachable in that resample) count."""
    v = [x for x in values if not math.isnan(x)]
    if len(v) < 10:
        return None
    # no interpolation (outward-rounded order statistics): an infinite tail stays infinite
    # instead of turning into inf - inf = nan
    return [
        float(np.percentile(v, 2.5, method="lower")),
        float(np.percentile(v, 97.5, method="higher")),
    ]


def loss_rate(
    df: pd.DataFrame,
    reference: str,
    treatment: str,
    domain: str,
    *,
    bootstrap: int = 100,
    seed: int = 0,
) -> ExchangeRate:
    """Exchange rate on held-out domain ``domain`` at the treatment's largest budget, for the
    treatment's best run there; intervals from refitting the reference law on resampled runs."""
    from scaling.fit import fit_chinchilla

    col = f"val_{domain}_loss"
    ref = df[df.data_type == reference]
    trt = df[df.data_type == treatment]
    if len(ref) < 5:
        raise UserError(f"exchange rate: reference {reference!r} needs >= 5 runs, has {len(ref)}")
    law = fit_chinchilla(ref.params, ref.tokens, ref[col], bootstrap=bootstrap, seed=seed)
    top = trt[trt.budget_flops == trt.budget_flops.max()]
    run = top.loc[top[col].idxmin()]

    def rate(tokens: float, multiplier: float, intervals: dict, note: str) -> ExchangeRate:
        at = (reference, treatment, f"loss:{domain}", float(run.budget_flops), str(run.run_id))
        return ExchangeRate(*at, tokens, multiplier, intervals, note)

    if not all(math.isfinite(v) for v in (law.E, law.A, law.B, law.alpha, law.beta)):
        return rate(
            math.nan,
            math.nan,
            {},
            f"not estimated: {reference}'s law on held-out {domain} is degenerate (A={law.A:.3g}, "
            f"B={law.B:.3g}), so it prices no {treatment} token",
        )
    n, d_t, loss_t, c_t = float(run.params), float(run.tokens), float(run[col]), float(run.flops)
    d_r = tokens_to_match(law, n, loss_t)
    c_r = 0.0 if d_r == 0.0 else compute_to_match(law, loss_t)
    boot_d = [tokens_to_match(b, n, loss_t) / d_t for b in law.bootstrap_laws()]
    boot_c = [compute_to_match(b, loss_t) / c_t for b in law.bootstrap_laws()]
    note = ""
    if not math.isfinite(d_r):
        note = (
            f"{treatment}'s loss on {domain} ({loss_t:.3f}) is below anything {reference} "
            f"data reaches at N={n:.3g} (the law's limit {float(law.predict(n, 1e30)):.3f})"
        )
    elif d_r == 0.0:
        note = (
            f"{treatment}'s loss on {domain} ({loss_t:.3f}) is above what {reference} data "
            f"gives a model of N={n:.3g} from a single token: it transfers nothing there"
        )
    intervals = {
        k: iv
        for k, iv in (
            ("tokens_per_token", _percentiles(boot_d)),
            ("compute_multiplier", _percentiles(boot_c)),
        )
        if iv
    }
    return rate(d_r / d_t, c_r / c_t, intervals, note)


def task_rate(df: pd.DataFrame, reference: str, treatment: str, task: str) -> ExchangeRate:
    """Compute multiplier at equal task accuracy, from the reference's best accuracy per budget
    (a sigmoid in log compute); infinite when the reference never rises above its floor."""
    from scaling.fit import fit_accuracy

    col = f"acc_{task}"
    ref = df[df.data_type == reference]
    trt = df[df.data_type == treatment]
    top = trt[trt.budget_flops == trt.budget_flops.max()]
    run = top.loc[top[col].idxmax()]
    acc_t, c_t = float(run[col]), float(run.flops)
    best = ref.loc[ref.groupby("budget_flops")[col].idxmax()]
    ref_max = float(ref[col].max())

    def rate(multiplier: float, note: str = "") -> ExchangeRate:
        at = (reference, treatment, f"task:{task}", float(run.budget_flops), str(run.run_id))
        return ExchangeRate(*at, math.nan, multiplier, {}, note)

    if ref_max <= 0.0 or (ref_max < acc_t and best[col].nunique() < 3):
        return rate(
            math.inf,
            f"{reference} reaches at most {ref_max:.0%} on {task} at up to "
            f"C={ref.flops.max():.2g} FLOPs, {treatment} {acc_t:.0%} at C={c_t:.2g}: not "
            f"reachable with {reference} data within this sweep",
        )
    try:
        sig = fit_accuracy(best.flops, best[col], against="log_flops")
    except UserError as exc:  # too few budgets for the sigmoid: say so, do not fail
        return rate(math.nan, f"not estimated: {exc}")
    c_r = float(sig.inverse(acc_t))
    return rate(c_r / c_t if math.isfinite(c_r) else math.inf)


def all_rates(
    df: pd.DataFrame, reference: str | None = None, bootstrap: int = 100
) -> list[ExchangeRate]:
    """Every treatment data type against the reference (default: 'web' if present) on every
    shared held-out domain and task."""
    types = sorted(df.data_type.unique())
    if len(types) < 2:
        return []
    reference = reference or ("web" if "web" in types else types[0])
    out = []
    for treatment in (t for t in types if t != reference):
        for domain in shared_domains(df):
            try:
                out.append(loss_rate(df, reference, treatment, domain, bootstrap=bootstrap))
            except UserError:
                continue
        for col in (c for c in df.columns if c.startswith("acc_") and df[c].notna().all()):
            out.append(task_rate(df, reference, treatment, col[4:]))
    return out
