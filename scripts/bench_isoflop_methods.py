"""Benchmark the isoFLOP (approach 2) methods: reproduction of Porian et al. 2024 and recovery.

For every method in ``scaling.fit.isoflop.METHODS`` this fits

- Porian et al. 2024's 15 configurations (../shared/anchors/porian2024_isoflop_points.csv,
  grouped by ``config``, which is unique across ``source_file``) with bootstrap 0 and with
  ``--bootstrap`` resamples, and compares the exponent a of N_opt ∝ C^a with the published one
  (porian2024_exponent_fits.csv: ``a_exponent`` and its 95% CI);
- synthetic Chinchilla surfaces L = E + A N^-alpha + B D^-beta with C = 6ND, sampled centred,
  off-centre and with alpha != beta (true a = beta / (alpha + beta), Hoffmann et al. 2022 eq. 4),
  noise-free and with Gaussian loss noise,

and prints one JSON object: per method, max |a - published a| over the 15 configurations, how
many published a fall inside the method's interval, how many of the method's a lie inside the
published CI, the synthetic recovery errors, and the seconds taken.

Usage: .venv/bin/python scripts/bench_isoflop_methods.py [--bootstrap 200] [--anchors DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from scaling.analysis.tables import fit_frame, read_table
from scaling.core.errors import UserError
from scaling.fit import fit_isoflop
from scaling.fit._common import jsonable
from scaling.fit.isoflop import METHODS

ANCHORS = Path(__file__).resolve().parents[2] / "shared" / "anchors"

# (name, E, A, B, alpha, beta, log-offset of the sampled N grid from N* at the smallest and
# the largest budget (linear in log C between them), half-width of the grid in log N). A constant
# offset shifts every log N_opt by the same amount and leaves the exponent unbiased; an offset
# that drifts with C (e.g. a model-size grid that does not follow N*) biases it.
LOG3 = math.log(3.0)
SURFACES = [
    ("chinchilla centred", 1.69, 406.4, 410.7, 0.34, 0.28, (0.0, 0.0), 1.5),
    ("chinchilla off-centre x3", 1.69, 406.4, 410.7, 0.34, 0.28, (LOG3, LOG3), 1.5),
    ("chinchilla drift /3 -> x3", 1.69, 406.4, 410.7, 0.34, 0.28, (-LOG3, LOG3), 1.5),
    ("chinchilla drift x3 -> /3", 1.69, 406.4, 410.7, 0.34, 0.28, (LOG3, -LOG3), 1.5),
    ("asymmetric alpha<beta", 1.8, 482.0, 2085.0, 0.25, 0.45, (0.0, 0.0), 1.5),
    ("asymmetric alpha>beta, drift", 1.8, 482.0, 2085.0, 0.45, 0.25, (-LOG3, LOG3), 1.5),
    ("asymmetric alpha<beta, drift, wide", 1.8, 482.0, 2085.0, 0.25, 0.45, (LOG3, -LOG3), 2.0),
]
BUDGETS = np.geomspace(1e18, 1e22, 7)


def surface_runs(
    E: float,
    A: float,
    B: float,
    al: float,
    be: float,
    shift: tuple[float, float],
    half: float,
    k: int = 9,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(flops, params, tokens, loss) on BUDGETS, k sizes per budget around exp(offset) N*."""
    G = (al * A / (be * B)) ** (1 / (al + be))
    rows = []
    offsets = np.linspace(shift[0], shift[1], len(BUDGETS))
    for c, off in zip(BUDGETS, offsets, strict=True):
        n_star = G * (c / 6) ** (be / (al + be))
        for x in np.linspace(-half, half, k):
            n = n_star * math.exp(off + x)
            d = c / (6 * n)
            rows.append((c, n, d, E + A * n**-al + B * d**-be))
    C, N, D, L = np.array(rows).T
    return C, N, D, L


def porian(method: str, bootstrap: int, anchors: Path) -> dict[str, Any]:
    import pandas as pd

    pub = pd.read_csv(anchors / "porian2024_exponent_fits.csv").set_index("config")
    df = read_table(anchors / "porian2024_isoflop_points.csv")
    t0 = time.perf_counter()
    per: dict[str, Any] = {}
    errs, pub_in, ours_in, failed = [], 0, 0, 0
    for cfg, g in df.groupby("config", sort=True):
        row = pub.loc[cfg]
        try:
            fit = fit_frame(g, "isoflop", by="config", method=method, bootstrap=bootstrap)[cfg]
        except UserError as exc:  # the method found fewer than 2 usable budgets
            failed += 1
            per[cfg] = {"published": float(row.a_exponent), "error": str(exc)[:160]}
            continue
        err = fit.a - float(row.a_exponent)
        lo, hi = fit.n_opt_law.interval
        p_in = bool(lo <= row.a_exponent <= hi)
        o_in = bool(row.a_CI95_lo <= fit.a <= row.a_CI95_hi)
        pub_in += p_in
        ours_in += o_in
        errs.append(abs(err))
        per[cfg] = {
            "a": round(fit.a, 4),
            "published": float(row.a_exponent),
            "error": round(err, 4),
            "interval": [round(lo, 4), round(hi, 4)],
            "published_in_interval": p_in,
            "budgets_used": len(fit.used),
            "failed_resamples": fit.n_bootstrap_failed,
        }
        if fit.surface is not None:
            per[cfg]["surface_a"] = round(fit.surface.a, 4)
    secs = time.perf_counter() - t0
    return {
        "bootstrap": bootstrap,
        "max_abs_error": round(max(errs), 4) if errs else None,
        "mean_abs_error": round(float(np.mean(errs)), 4) if errs else None,
        "configs_failed": failed,
        "published_in_interval": pub_in,
        "a_in_published_ci": ours_in,
        "n_configs": len(per),
        "seconds": round(secs, 2),
        "per_config": per,
    }


def synthetic(method: str, bootstrap: int, noise_seeds: int = 5) -> dict[str, Any]:
    t0 = time.perf_counter()
    out: dict[str, Any] = {}
    worst_clean, worst_noisy = 0.0, 0.0
    covered, total = 0, 0
    for name, E, A, B, al, be, shift, half in SURFACES:
        C, N, D, L = surface_runs(E, A, B, al, be, shift, half)
        truth = be / (al + be)
        clean = fit_isoflop(C, N, L, D, method=method)
        noisy_err = []
        for s in range(noise_seeds):
            Ln = L + np.random.default_rng(s).normal(0, 0.005, len(L))
            fit = fit_isoflop(C, N, Ln, D, method=method, bootstrap=bootstrap, seed=s)
            noisy_err.append(fit.a - truth)
            if bootstrap:
                lo, hi = fit.n_opt_law.interval
                covered += bool(lo <= truth <= hi)
                total += 1
        e_clean = clean.a - truth
        worst_clean = max(worst_clean, abs(e_clean))
        worst_noisy = max(worst_noisy, float(np.max(np.abs(noisy_err))))
        out[name] = {
            "true_a": round(truth, 4),
            "error_noise_free": round(e_clean, 5),
            "mean_abs_error_noisy": round(float(np.mean(np.abs(noisy_err))), 5),
        }
    res = {
        "max_abs_error_noise_free": round(worst_clean, 5),
        "max_abs_error_noisy": round(worst_noisy, 5),
        "seconds": round(time.perf_counter() - t0, 2),
        "cases": out,
    }
    if bootstrap:
        res["truth_in_interval"] = f"{covered}/{total}"
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bootstrap", type=int, default=200)
    ap.add_argument("--synthetic-bootstrap", type=int, default=50)
    ap.add_argument("--anchors", type=Path, default=ANCHORS)
    ap.add_argument("--methods", nargs="*", default=list(METHODS))
    ap.add_argument("--brief", action="store_true", help="leave out the per-config rows")
    args = ap.parse_args()
    result: dict[str, Any] = {}
    for method in args.methods:
        r: dict[str, Any] = {}
        if (args.anchors / "porian2024_isoflop_points.csv").exists():
            r["porian_bootstrap_0"] = porian(method, 0, args.anchors)
            if args.bootstrap:
                r[f"porian_bootstrap_{args.bootstrap}"] = porian(
                    method, args.bootstrap, args.anchors
                )
        r["synthetic"] = synthetic(method, args.synthetic_bootstrap)
        if args.brief:
            for v in r.values():
                v.pop("per_config", None)
                v.pop("cases", None)
        result[method] = r
    print(json.dumps(jsonable(result), indent=1))


if __name__ == "__main__":
    main()
