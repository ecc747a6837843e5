"""Exchange rates between data types on a target both are evaluated on. No torch.

A rate compares two data types only on a shared held-out domain (scored on the same source for
both: ``evalspec_<domain>``) or a shared verified task, and only when both laws pass the
validity gates (``analysis.gates``). It is reported over the sampled range of compute, one row
per treatment budget, never as one number.

On a held-out domain S (effective-compute transfer, after Hernandez et al. 2021, "Scaling Laws
for Transfer", §2: the extra reference compute or data that reaches the same loss):

- the treatment's compute-optimal loss at its budget C, L_T*(C) = min_N L_T(N, C / (k N)),
  from its law fitted on S (``scaling.fit.allocation``, C under the runs' recorded FLOP
  convention);
- the compute multiplier C_R / C, where the reference's compute-optimal frontier reaches L_T*(C)
  at C_R (infinite when L_T*(C) lies below everything the reference law reaches);
- the token rate D_R* / D_T*: reference tokens per treatment token, both trained
  compute-optimally to the same loss.

Intervals: the i-th bootstrap refit of the treatment law is paired with the i-th of the
reference law (independent resamples of each data type's runs), so both uncertainties enter.

On a verified task: the treatment's best accuracy per budget against the reference's, each
with a Wilson interval for its finite number of evaluated problems (Wilson 1927); the compute
multiplier is the reference compute, interpolated in log C between its budgets' best
accuracies, at which it reaches the treatment's accuracy, with a parametric bootstrap over the
evaluation problems (each run's correct count redrawn as Binomial(n, accuracy)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from scaling.analysis.estimate import Estimate, Result, Undetermined, from_samples, num
from scaling.analysis.gates import parametric_gate
from scaling.core.errors import UserError
from scaling.fit.allocation import flop_model


@dataclass(frozen=True)
class RatePoint:
    """The exchange rate at one sampled treatment budget."""

    flops: float
    treatment: Result  # the treatment's loss (or accuracy) there
    compute_multiplier: Result
    tokens_per_token: Result | None = None
    reference: Result | None = None  # the reference's accuracy there (tasks)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "flops": self.flops,
            "treatment": self.treatment.to_dict(),
            "compute_multiplier": self.compute_multiplier.to_dict(),
        }
        if self.tokens_per_token is not None:
            out["tokens_per_token"] = self.tokens_per_token.to_dict()
        if self.reference is not None:
            out["reference"] = self.reference.to_dict()
        return out


@dataclass(frozen=True)
class ExchangeRate:
    """Treatment against reference on one shared domain (``loss:<domain>``) or task
    (``task:<name>``): one row per treatment budget, or the reason there is none."""

    reference: str
    treatment: str
    measure: str
    points: tuple[RatePoint, ...] = ()
    undetermined: Undetermined | None = None
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "treatment": self.treatment,
            "measure": self.measure,
            "points": [p.to_dict() for p in self.points],
            "undetermined": None if self.undetermined is None else self.undetermined.to_dict(),
            "notes": list(self.notes),
        }


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


def _solve_rate(t_law: Any, r_law: Any, c: float, fm_t: Any, fm_r: Any) -> tuple[float, ...]:
    """(treatment loss, compute multiplier, token rate, reference compute) at budget c."""
    from scaling.fit.allocation import compute_optimal, compute_to_match

    t = compute_optimal(t_law, c, fm_t)
    if not math.isfinite(t.loss):
        return (math.nan,) * 4
    s = compute_to_match(r_law, t.loss, fm_r)
    if s.status == "unreachable":
        return t.loss, math.inf, math.inf, math.inf
    if s.status == "below_window":
        return t.loss, 0.0, 0.0, 0.0
    d_r = compute_optimal(r_law, s.value, fm_r).d_opt
    return t.loss, s.value / c, d_r / t.d_opt, s.value


def _gated_laws(
    ref: pd.DataFrame, trt: pd.DataFrame, names: tuple[str, str], col: str, **fit_kw: Any
) -> tuple[dict[str, Any], Undetermined | None]:
    """Both data types' Chinchilla laws on ``col``, and why the rate is undetermined when one
    fails the validity gates (``analysis.gates.parametric_gate``)."""
    from scaling.fit import fit_chinchilla

    domain = col[len("val_") : -len("_loss")]
    laws = {}
    for name, g in zip(names, (ref, trt), strict=True):
        if len(g) < 5:
            raise UserError(f"exchange rate: {name!r} needs >= 5 runs on {domain}, has {len(g)}")
        laws[name] = fit_chinchilla(g.params, g.tokens, g[col], **fit_kw)
    for name in names:
        gate = parametric_gate(laws[name])
        if not gate.usable:
            why = f"{name}'s law on held-out {domain} fails the validity gates ({gate.why()})"
            return laws, Undetermined(why, gate.fix())
    return laws, None


def loss_rate(
    df: pd.DataFrame,
    reference: str,
    treatment: str,
    domain: str,
    *,
    bootstrap: int = 100,
    seed: int = 0,
    n_starts: int | None = None,
) -> ExchangeRate:
    """Compute-equivalent multiplier and token rate on held-out ``domain`` at each treatment
    budget, from both data types' laws fitted on that domain (see the module docstring)."""
    measure = f"loss:{domain}"
    ref = df[df.data_type == reference]
    trt = df[df.data_type == treatment]
    laws, undetermined = _gated_laws(
        ref,
        trt,
        (reference, treatment),
        f"val_{domain}_loss",
        bootstrap=bootstrap,
        seed=seed,
        n_starts=n_starts,
    )
    if undetermined is not None:
        return ExchangeRate(reference, treatment, measure, undetermined=undetermined)
    r_law, t_law = laws[reference], laws[treatment]
    fm_r, fm_t = flop_model(ref), flop_model(trt)
    c_lo, c_hi = float(ref.flops.min()), float(ref.flops.max())
    pairs = list(zip(t_law.bootstrap_laws(), r_law.bootstrap_laws(), strict=False))
    points = []
    for c in sorted(float(b) for b in trt.budget_flops.unique()):
        loss_t, mult, tok, c_r = _solve_rate(t_law, r_law, c, fm_t, fm_r)
        boot = np.array([_solve_rate(tb, rb, c, fm_t, fm_r) for tb, rb in pairs]).reshape(-1, 4)
        extrap = math.isfinite(c_r) and not (c_lo <= c_r <= c_hi)
        points.append(
            RatePoint(
                flops=c,
                treatment=from_samples(loss_t, boot[:, 0], unit="nats", what=f"{treatment}'s loss"),
                compute_multiplier=_rate_result(
                    mult, boot[:, 1], extrap, f"{reference}'s compute to match"
                ),
                tokens_per_token=_rate_result(
                    tok, boot[:, 2], extrap, f"{reference} tokens per {treatment} token"
                ),
            )
        )
    notes = ()
    if any(
        isinstance(p.compute_multiplier, Estimate) and p.compute_multiplier.extrapolated
        for p in points
    ):
        notes = (
            f"a multiplier marked extrapolated needs {reference} compute outside its sampled "
            f"range C in [{num(c_lo)}, {num(c_hi)}]",
        )
    return ExchangeRate(reference, treatment, measure, tuple(points), notes=notes)


def _rate_result(value: float, samples: np.ndarray, extrapolated: bool, what: str) -> Result:
    if value == math.inf:
        share = float(np.mean(np.isinf(samples))) if samples.size else math.nan
        return Undetermined(
            f"unreachable: the reference's law never falls to this loss at any compute "
            f"(so in `{share:.0%}` of bootstrap refits)",
            "",
        )
    return from_samples(value, samples, extrapolated=extrapolated, what=what)


# --------------------------------------------------------------------------- tasks

Z95 = 1.959963984540054  # two-sided 95% standard-normal quantile


def wilson(accuracy: float, n: float) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion at 95% (Wilson 1927, JASA 22:209)."""
    if not n or n <= 0 or not math.isfinite(accuracy):
        return (math.nan, math.nan)
    z2 = Z95 * Z95
    centre = (accuracy + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(accuracy * (1 - accuracy) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def accuracy_estimate(accuracy: float, n: float) -> Result:
    """An observed accuracy with its Wilson interval, or why it has none."""
    lo, hi = wilson(accuracy, n)
    if not math.isfinite(lo):
        return Undetermined("the number of evaluated problems was not recorded")
    return Estimate(accuracy, lo, hi, unit="", method="wilson", n_samples=int(n))


def _interp_log_c(best: pd.DataFrame, col: str, target: float) -> float:
    """Reference compute at which its best accuracy per budget first reaches ``target``
    (linear in log C between budgets; inf when never reached, 0 when already reached at the
    smallest budget: below the sampled range)."""
    b = best.sort_values("flops")
    acc, logc = b[col].to_numpy(float), np.log(b.flops.to_numpy(float))
    if target <= acc[0]:
        return 0.0
    for i in range(1, len(acc)):
        if acc[i] >= target > acc[i - 1]:
            t = (target - acc[i - 1]) / (acc[i] - acc[i - 1])
            return float(math.exp(logc[i - 1] + t * (logc[i] - logc[i - 1])))
    return math.inf


def _best_per_budget(g: pd.DataFrame, col: str) -> pd.DataFrame:
    return g.loc[g.groupby("budget_flops")[col].idxmax()]


def _matched_multiplier(
    ref: pd.DataFrame,
    best_r: pd.DataFrame,
    names: tuple[str, str],
    col: str,
    ncol: str,
    treated: tuple[float, float, float],
    rng: np.random.Generator,
    bootstrap: int,
) -> Result:
    """The reference compute that reaches the treatment run's accuracy, over that run's compute
    (``treated`` = accuracy, problems, FLOPs), with a binomial bootstrap over problems."""
    reference, treatment = names
    acc_t, n_t, c_t = treated
    c_r = _interp_log_c(best_r, col, acc_t)
    samples = []
    for _ in range(bootstrap):
        rs = ref.assign(**{col: rng.binomial(ref[ncol].astype(int), ref[col]) / ref[ncol]})
        target = rng.binomial(int(n_t), acc_t) / n_t
        samples.append(_interp_log_c(_best_per_budget(rs, col), col, target) / c_t)
    if c_r == 0.0:
        return Undetermined(
            f"{reference} already reaches this accuracy at its smallest budget, so the "
            "multiplier lies below the sampled compute",
            f"smaller budgets for {reference}",
        )
    if math.isinf(c_r):
        top = accuracy_estimate(float(best_r[col].max()), float(best_r[ncol].iloc[0]))
        top_s = (
            f"{top.value:.0%} [{top.lo:.0%}, {top.hi:.0%}]"
            if isinstance(top, Estimate)
            else "an unknown share"
        )
        return Undetermined(
            f"{reference}'s best run reaches {top_s} within this sweep (up to "
            f"`C={num(float(ref.flops.max()))}`), below {treatment}'s accuracy",
            f"a sweep to larger compute for {reference}",
        )
    return from_samples(c_r / c_t, np.array(samples), what=f"{reference}'s compute to match")


def task_rate(
    df: pd.DataFrame,
    reference: str,
    treatment: str,
    task: str,
    *,
    bootstrap: int = 200,
    seed: int = 0,
) -> ExchangeRate:
    """Per treatment budget: both data types' best verified accuracy (Wilson intervals) and
    the reference compute that reaches the treatment's accuracy, interpolated between the
    reference's budgets (bootstrap over evaluation problems)."""
    col, ncol = f"acc_{task}", f"task_n_{task}"
    measure = f"task:{task}"
    ref = df[df.data_type == reference]
    trt = df[df.data_type == treatment]
    if ncol not in df or df[ncol].isna().any():
        why = f"the runs did not record how many {task} problems were scored"
        undetermined = Undetermined(why, "re-run the sweep with this version")
        return ExchangeRate(reference, treatment, measure, undetermined=undetermined)
    rng = np.random.default_rng(seed)
    best_r = _best_per_budget(ref, col)
    floor = best_r.sort_values("flops").iloc[0]
    floor_hi = wilson(float(floor[col]), float(floor[ncol]))[1]
    points = []
    for b, gt in trt.groupby("budget_flops"):
        run = gt.loc[gt[col].idxmax()]
        acc_t, n_t, c_t = float(run[col]), float(run[ncol]), float(run.flops)
        rb = best_r[best_r.budget_flops == b]
        ref_here = (
            accuracy_estimate(float(rb[col].iloc[0]), float(rb[ncol].iloc[0])) if len(rb) else None
        )
        kw = {"flops": float(b), "treatment": accuracy_estimate(acc_t, n_t), "reference": ref_here}
        if not wilson(acc_t, n_t)[0] > floor_hi:
            mult: Result = Undetermined(
                f"{treatment}'s accuracy here is not above {reference}'s at its smallest "
                "budget (Wilson intervals overlap): nothing to match"
            )
        else:
            mult = _matched_multiplier(
                ref, best_r, (reference, treatment), col, ncol, (acc_t, n_t, c_t), rng, bootstrap
            )
        points.append(RatePoint(**kw, compute_multiplier=mult))
    return ExchangeRate(reference, treatment, measure, tuple(points))
