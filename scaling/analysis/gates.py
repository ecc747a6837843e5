"""Validity gates: one set of rules that decides whether a fitted law may be used for a statement.

Every statement the product makes (verdict, exchange rates, levers, report, figure annotations)
asks these gates first; a law that fails them is reported with the reasons and what would fix
them, never used for a number. No torch, no Hydra.

Thresholds (each a named constant with its justification):

- ``MAX_EXPONENT_WIDTH = 0.5``: a 95% interval of an exponent wider than half the admissible
  range (0, 1) of a = beta / (alpha + beta) cannot tell the published answers apart (Kaplan et
  al. 2020's a = 0.73 versus Hoffmann et al. 2022's 0.50, the discrepancy Porian et al. 2024
  resolve); alpha and beta use the same width.
- ``MAX_FAILED_SHARE = 0.1``: more than 10% failed bootstrap refits means the intervals describe
  the resamples the optimiser could solve, not the data (resamples are dropped, so the interval
  is conditional on success; at 10% the 2.5% tails can no longer be trusted).
- ``MIN_BOOTSTRAP = 20``: with fewer successful resamples the 2.5% and 97.5% order statistics
  are the extreme values (20 x 0.025 = 0.5 samples per tail).
- ``MIN_E = 1e-3`` nats: an irreducible loss whose interval reaches below 1e-3 is the optimiser
  sending log E to minus infinity (E not identified); the natural-text entropies reported in the
  literature are ~1.7-1.9 nats/token (Hoffmann et al. 2022 §3.3; Besiroglu et al. 2024 Table 1).
- ``RUNAWAY_LOG_COEF = 50``: |log A| or |log B| beyond 50 is twice the top of the start grid of
  Hoffmann et al. 2022 App. D.2 (log A, log B in 0..25) and far beyond every published fit
  (log A = 6.0-6.3, log B = 6.0-7.7): the coefficient ran away to trade off against its exponent.
- ``MIN_BUDGETS = 2``: a power law N_opt ∝ C^a needs at least two budgets with a bracketed
  minimum (Hoffmann et al. 2022 §3.2); the isoFLOP minima themselves are gated in
  ``scaling.fit.isoflop`` (points on both sides, positive curvature).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MAX_EXPONENT_WIDTH = 0.5
MAX_FAILED_SHARE = 0.1
MIN_BOOTSTRAP = 20
MIN_E = 1e-3
RUNAWAY_LOG_COEF = 50.0
MIN_BUDGETS = 2

MORE_COMPUTE = "more budgets (a wider range of compute) or seeds"


@dataclass(frozen=True)
class Gate:
    """Whether a law passes the gates; if not, why and what would fix it."""

    usable: bool
    reasons: tuple[str, ...] = ()
    fixes: tuple[str, ...] = field(default=(), compare=False)

    def why(self) -> str:
        """The reasons as one clause ("" when usable)."""
        return "; ".join(self.reasons)

    def fix(self) -> str:
        """What would fix it, as one clause."""
        return "; ".join(dict.fromkeys(self.fixes))

    def to_dict(self) -> dict[str, Any]:
        return {"usable": self.usable, "reasons": list(self.reasons), "fixes": list(self.fixes)}


def _gate(reasons: Sequence[tuple[str, str]]) -> Gate:
    return Gate(not reasons, tuple(r for r, _ in reasons), tuple(f for _, f in reasons if f))


def is_fit(obj: Any) -> bool:
    """A fitted result rather than a recorded ``{"error": ...}`` or nothing."""
    return obj is not None and not isinstance(obj, dict)


def finite_interval(iv: Any) -> tuple[float, float] | None:
    """(lo, hi) when both bounds are finite numbers, else None."""
    if iv is None or len(iv) != 2:
        return None
    lo, hi = iv
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    return (float(lo), float(hi))


def _plain(text: Any) -> str:
    """A message quoted inside a code span (backticks removed)."""
    return str(text).replace("`", "'")


def _show(iv: tuple[float, float]) -> str:
    """An interval for a reason: "[lo, hi]" (the form the statements use for intervals)."""
    from scaling.analysis.estimate import num

    return f"[{num(iv[0])}, {num(iv[1])}]"


def _width(iv: Any) -> float:
    f = finite_interval(iv)
    return f[1] - f[0] if f else math.inf


def _bootstrap_checks(n_boot: int, n_failed: int) -> list[tuple[str, str]]:
    more = "run the fit with `--bootstrap 200` or more"
    if n_boot <= 0:
        return [("no bootstrap, so no interval", more)]
    ok = n_boot - n_failed
    if ok < MIN_BOOTSTRAP:
        return [
            (f"only `{ok}` of `{n_boot}` bootstrap refits succeeded (need `{MIN_BOOTSTRAP}`)", more)
        ]
    if n_failed > MAX_FAILED_SHARE * n_boot:
        return [
            (
                f"`{n_failed}` of `{n_boot}` bootstrap refits failed (more than "
                f"`{MAX_FAILED_SHARE:.0%}`)",
                "more runs per budget or seeds",
            )
        ]
    return []


def _positive_exponent(name: str, value: float, iv: Any, meaning: str) -> list[tuple[str, str]]:
    out = []
    f = finite_interval(iv)
    shown = "no finite interval" if f is None else f"95% interval {_show(f)}"
    if not value > 0:
        out.append((f"{name} is not positive ({shown}): {meaning}", ""))
    elif f is None or f[0] <= 0:
        out.append((f"{name} is not bounded above zero ({shown}): {meaning}", ""))
    if f is not None and _width(iv) > MAX_EXPONENT_WIDTH:
        out.append(
            (
                f"{name}'s 95% interval {_show(f)} is wider than `{MAX_EXPONENT_WIDTH}`",
                "more budgets, model sizes or seeds",
            )
        )
    return out


def parametric_gate(par: Any) -> Gate:
    """L(N, D) = E + A/N^alpha + B/D^beta is usable: converged, alpha and beta above zero with
    narrow intervals, 0 < a < 1, E identified, no runaway coefficient, enough bootstrap."""
    if not is_fit(par):
        err = par.get("error") if isinstance(par, dict) else "not fitted"
        return _gate([(f"not fitted: `{_plain(err)}`", "more runs")])
    checks: list[tuple[str, str]] = []
    if not getattr(par, "converged", True):
        msg = getattr(par, "optimizer_message", "")
        checks.append((f"the optimiser did not converge: `{msg}`", "more runs or other starts"))
    values = [par.E, par.A, par.B, par.alpha, par.beta]
    if not all(math.isfinite(v) for v in values):
        checks.append(("a parameter is not finite", "more runs"))
        return _gate(checks)
    n_boot = len(par.bootstrap_samples.get("E", ())) if par.bootstrap_samples else 0
    checks += _bootstrap_checks(n_boot, int(getattr(par, "n_bootstrap_failed", 0)))
    iv = par.intervals or {}
    flat = "more model sizes at fixed tokens, or a tuned learning rate per width"
    for name, value, meaning, fix in (
        ("alpha", par.alpha, "loss does not fall with N at fixed D", flat),
        ("beta", par.beta, "loss does not fall with D at fixed N", MORE_COMPUTE),
    ):
        found = _positive_exponent(name, value, iv.get(name), meaning)
        checks += [(r, f or fix) for r, f in found]
    if not 0 < par.a < 1:
        checks.append(("a = beta/(alpha+beta) is outside `(0, 1)`", ""))
    e_iv = finite_interval(iv.get("E"))
    if par.E < MIN_E or (e_iv is not None and e_iv[0] < MIN_E):
        checks.append(
            (
                f"E is not identified (its interval reaches below `{MIN_E}` nats)",
                "larger models or more tokens, so that the loss flattens",
            )
        )
    for name, value in (("A", par.A), ("B", par.B)):
        if value <= 0 or abs(math.log(value)) > RUNAWAY_LOG_COEF:
            checks.append(
                (
                    f"{name} ran away (|log {name}| > `{RUNAWAY_LOG_COEF:g}`)",
                    "a wider model ladder",
                )
            )
    return _gate(checks)


def isoflop_gate(iso: Any) -> Gate:
    """N_opt ∝ C^a is usable: at least two budgets with bracketed minima, 0 < a < 1 with a
    95% interval narrower than ``MAX_EXPONENT_WIDTH`` inside (0, 1), enough bootstrap."""
    if not is_fit(iso):
        err = iso.get("error") if isinstance(iso, dict) else "not fitted"
        return _gate([(f"not fitted: `{_plain(err)}`", "a wider model ladder at each budget")])
    checks: list[tuple[str, str]] = []
    used = list(iso.used)
    if len(used) < MIN_BUDGETS:
        checks.append(
            (
                f"`{len(used)}` budget(s) with a bracketed minimum (need `{MIN_BUDGETS}`)",
                "a wider model ladder at the budgets whose minimum sits at an edge",
            )
        )
    n_boot = len(next(iter(iso.bootstrap_samples.values()), ())) if iso.bootstrap_samples else 0
    failed = int(getattr(iso, "n_bootstrap_failed", 0))
    checks += _bootstrap_checks(n_boot, failed)
    a, iv = iso.a, iso.n_opt_law.interval
    f = finite_interval(iv)
    if not (math.isfinite(a) and 0 < a < 1):
        shown = "" if f is None else f" (95% interval {_show(f)})"
        checks.append((f"a is outside `(0, 1)`{shown}", MORE_COMPUTE))
    elif f is None:
        checks.append(("a has no finite interval", MORE_COMPUTE))
    else:
        if not (f[0] > 0 and f[1] < 1):
            checks.append((f"a's 95% interval {_show(f)} leaves `(0, 1)`", MORE_COMPUTE))
        if f[1] - f[0] > MAX_EXPONENT_WIDTH:
            checks.append(
                (
                    f"a's 95% interval {_show(f)} is wider than `{MAX_EXPONENT_WIDTH}`",
                    MORE_COMPUTE,
                )
            )
    return _gate(checks)


def accuracy_gate(sig: Any) -> Gate:
    """A sigmoid of accuracy against log compute is usable when it was fitted."""
    if not is_fit(sig):
        err = sig.get("error") if isinstance(sig, dict) else "not fitted"
        return _gate([(f"not fitted: `{_plain(err)}`", "more budgets")])
    return _gate([])


def failed_share(samples: np.ndarray) -> float:
    """Share of non-finite entries in a bootstrap sample array."""
    s = np.asarray(samples, dtype=float)
    return float((~np.isfinite(s)).mean()) if s.size else 1.0
