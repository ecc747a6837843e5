"""Benchmark of the parametric (Chinchilla approach 3) fit; prints one JSON object.

Times the full-grid (4,500-start, Hoffmann et al. 2022 App. D.2) fit on the 240 points of
Besiroglu et al. 2024 (../shared/anchors/epoch_chinchilla_svg_extracted_data.csv, the 5 highest
losses dropped, D = C / (6 N)), or on 240 synthetic points when the anchor file is absent, then
100 bootstrap resamples, extrapolated to 1,000. Runs on one thread:

    OMP_NUM_THREADS=1 .venv/bin/python scripts/bench_fit.py
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from scaling.fit import BESIROGLU_2024, fit_chinchilla  # noqa: E402
from scaling.fit.parametric import (  # noqa: E402
    bootstrap_chinchilla,
    grid_starts,
    minimise_chinchilla,
)

ANCHOR = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "anchors"
    / ("epoch_chinchilla_svg_extracted_data.csv")
)


def load_points() -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    if ANCHOR.exists():
        import pandas as pd

        df = pd.read_csv(ANCHOR)
        loss = df["loss"].to_numpy()
        keep = loss < np.sort(loss)[-5]
        N = df["Model Size"].to_numpy()[keep]
        D = df["Training FLOP"].to_numpy()[keep] / (6 * N)
        return N, D, loss[keep], str(ANCHOR)
    rng = np.random.default_rng(0)
    N = 10 ** rng.uniform(7.7, 10.2, 240)
    D = 10 ** rng.uniform(8.4, 11.5, 240)
    L = np.asarray(BESIROGLU_2024.predict(N, D)) * np.exp(0.01 * rng.standard_normal(240))
    return N, D, L, "synthetic (Besiroglu et al. 2024 law, 1% log noise)"


def main() -> None:
    import scipy.optimize  # noqa: F401  (import once, outside the timings)

    N, D, L, source = load_points()
    t0 = time.perf_counter()
    fit = fit_chinchilla(N, D, L)
    t_fit = time.perf_counter() - t0

    # the bootstrap exactly as fit_chinchilla runs it: every resample started from the full
    # fit's distinct optima (up to 4) and 5 random grid points, all in one batch
    logs = (np.log(N), np.log(D), np.log(L))
    w = np.ones(len(L))
    grid = grid_starts()
    _, _, optima, _ = minimise_chinchilla(*logs, w, starts=grid, delta=1e-3)
    boot_starts = optima[:4]
    t0 = time.perf_counter()
    boot, _ = bootstrap_chinchilla(
        *logs, w, starts=boot_starts, n_boot=100, delta=1e-3, seed=1, grid=grid, n_grid=5
    )
    t_boot = time.perf_counter() - t0
    t0 = time.perf_counter()
    fit_b = fit_chinchilla(N, D, L, bootstrap=100, seed=0)
    t_fit_boot = time.perf_counter() - t0

    print(
        json.dumps(
            {
                "data": source,
                "n_points": len(L),
                "n_starts": fit.n_starts,
                "threads": os.environ.get("OMP_NUM_THREADS"),
                "cpu": platform.processor() or platform.machine(),
                "full_grid_fit_seconds": round(t_fit, 3),
                "bootstrap_starts_per_resample": len(boot_starts) + 5,
                "bootstrap_100_seconds": round(t_boot, 3),
                "bootstrap_1000_seconds_extrapolated": round(10 * t_boot, 2),
                "fit_plus_bootstrap_100_seconds": round(t_fit_boot, 3),
                "fitted": {k: round(v, 6) for k, v in fit.params().items()},
                "fitted_a_b": {"a": round(fit.a, 4), "b": round(fit.b, 4)},
                "objective_huber_sum": fit.objective,
                "r2": round(fit.r2, 6),
                "published_besiroglu_2024": BESIROGLU_2024.params(),
                "bootstrap_alpha_sd": round(float(np.std(boot[:, 3])), 4),
                "intervals_95": {
                    k: [round(v[0], 4), round(v[1], 4)] for k, v in fit_b.intervals.items()
                },
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
