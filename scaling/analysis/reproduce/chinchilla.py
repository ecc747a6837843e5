"""``chinchilla``: the parametric law refitted on Epoch's points of Hoffmann et al.'s Fig. 4, as
Besiroglu et al. 2024 did, beside their Table 1 and Hoffmann et al.'s published law.

Procedure (Besiroglu, Erdil, Barnett & You 2024, "Chinchilla Scaling: A replication attempt",
arXiv:2404.10102, and epoch-research/analyzing-chinchilla ``data_analysis.ipynb``): drop the 5
points with the highest loss (``loss < sorted(loss)[-5]``, 245 -> 240 points), tokens
D = C / (6 N), and fit L = E + A/N^alpha + B/D^beta by the summed Huber loss (delta = 1e-3) of
log residuals from Hoffmann et al. 2022's App. D.2 grid of 4,500 starts
(``scaling.fit.fit_chinchilla``); intervals are percentiles of refits on rows resampled with
replacement. Compute-optimal allocation: N_opt = G (C/6)^a, D_opt = G^-1 (C/6)^b (Hoffmann et
al. 2022, eq. 4).
"""

from __future__ import annotations

from typing import Any

import matplotlib
import numpy as np
import pandas as pd

from scaling.analysis.plot_style import (
    STYLE,
    _budget_colors,
    _fmt_flops,
    _footer,
    _log_ticks,
    _panels,
    legend_outside,
)
from scaling.analysis.reproduce.result import Estimate, Published, Reproduction, Row
from scaling.analysis.reproduce.spec import Spec
from scaling.analysis.reproduce.tables import TableSpec
from scaling.core.errors import UserError
from scaling.fit import BESIROGLU_2024, HOFFMANN_2022, ChinchillaLaw, fit_chinchilla

TABLE = TableSpec(
    file="epoch_chinchilla_svg_extracted_data.csv",
    columns=("Model Size", "Training FLOP", "loss"),
    origin="github.com/epoch-research/analyzing-chinchilla, data/svg_extracted_data.csv at "
    "commit 9225883 (a verbatim copy)",
)
# 1,000 resamples: percentile intervals need about 1,000 (25-200 suffice for a standard error;
# Efron & Tibshirani 1993, "An Introduction to the Bootstrap", §6.4), and the batched refits of
# the 240 points take 14 s on 2 cores (measured), well inside the ~60 s budget of a reproduction.
DEFAULT_BOOTSTRAP = 1000
# Besiroglu et al. 2024 drop the 5 highest-loss points (epoch-research/analyzing-chinchilla
# data_analysis.ipynb, ``loss < sorted(loss)[-5]``; the anchors' PROVENANCE.md).
DROP_HIGHEST = 5
# Besiroglu et al. 2024, Table 1: estimate and standard error; the published 95% interval is
# estimate +- 1.96 SE (normal approximation, their bootstrap standard errors).
BESIROGLU_SE = {"E": 0.03, "A": 124.58, "B": 1293.23, "alpha": 0.02, "beta": 0.02}
Z95 = 1.959963984540054
# Hoffmann et al. 2022 §3.2: isoFLOP profiles at nine budgets from 6e18 to 3e21 FLOPs (Fig. 3).
HOFFMANN_BUDGETS = (6e18, 1e19, 3e19, 6e19, 1e20, 3e20, 6e20, 1e21, 3e21)
# A point belongs to a budget when its FLOPs are within 0.1 dex of it: below half the smallest
# gap between the budgets (log10(1e19 / 6e18) = 0.22), so no point can fall in two bins; the
# read-off points of a budget scatter by ~0.05 dex around it.
BUDGET_TOLERANCE_DEX = 0.1
# Chinchilla's own training compute, 5.76e23 FLOPs (Gopher's budget: Hoffmann et al. 2022,
# Table 3), where the compute-optimal tokens per parameter are compared.
C_CHINCHILLA = 5.76e23

SRC_BESIROGLU = "Besiroglu et al. 2024 (arXiv:2404.10102), Table 1; interval = estimate +- 1.96 SE"
SRC_HOFFMANN = "Hoffmann et al. 2022 (arXiv:2203.15556), §3.3 approach 3 law (rounded)"
SRC_BESIROGLU_DERIVED = "Besiroglu et al. 2024 Table 1 law, through Hoffmann et al. 2022 eq. (4)"
SRC_HOFFMANN_DERIVED = "Hoffmann et al. 2022 §3.3 law, through their eq. (4)"


def _points(df: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """(N, C, L, keep): the table's columns and the rows Besiroglu et al. fitted."""
    from scaling.analysis.tables import validate_columns

    df = validate_columns(df, ("Model Size", "Training FLOP", "loss"))
    if len(df) <= DROP_HIGHEST + 5:
        raise UserError(
            f"{TABLE.file}: {len(df)} rows; the fit drops the {DROP_HIGHEST} highest losses and "
            "needs 5 more (Epoch's table has 245)"
        )
    N = df["Model Size"].to_numpy(float)
    C = df["Training FLOP"].to_numpy(float)
    L = df["loss"].to_numpy(float)
    keep = np.less(L, np.sort(L)[-DROP_HIGHEST])
    return N, C, L, keep


def _ratio(law: ChinchillaLaw, C: np.ndarray | float) -> np.ndarray:
    """D_opt / N_opt at compute C (Hoffmann et al. 2022, eq. 4)."""
    n, d = law.compute_optimal(np.asarray(C, dtype=float))
    return np.asarray(d, dtype=float) / np.asarray(n, dtype=float)


def _ratio_samples(fit: Any, C: np.ndarray) -> np.ndarray:
    """D_opt / N_opt of every bootstrap law at each C: (resamples, len(C))."""
    laws = fit.bootstrap_laws()
    return np.array([_ratio(lw, C) for lw in laws]) if laws else np.empty((0, len(C)))


def _rows(fit: Any, bootstrap: int) -> list[Row]:
    how = f"bootstrap, {bootstrap} resamples of the 240 points"
    rows = []
    for k in ("E", "A", "B", "alpha", "beta"):
        pub = getattr(BESIROGLU_2024, k)
        se = BESIROGLU_SE[k]
        ours = Estimate(
            getattr(fit, k), fit.intervals.get(k), how, "" if fit.intervals else "no bootstrap"
        )
        rows.append(Row(k, ours, Published(pub, SRC_BESIROGLU, (pub - Z95 * se, pub + Z95 * se))))
    for k in ("E", "A", "B", "alpha", "beta"):
        ours = Estimate(
            getattr(fit, k), fit.intervals.get(k), how, "" if fit.intervals else "no bootstrap"
        )
        rows.append(
            Row(f"{k} vs Hoffmann", ours, Published(getattr(HOFFMANN_2022, k), SRC_HOFFMANN))
        )
    a_est = Estimate(fit.a, fit.intervals.get("a"), how, "" if fit.intervals else "no bootstrap")
    rows.append(
        Row(
            "a = beta/(alpha+beta) (N_opt ∝ C^a)",
            a_est,
            Published(BESIROGLU_2024.a, SRC_BESIROGLU_DERIVED),
        )
    )
    rows.append(Row("a vs Hoffmann", a_est, Published(HOFFMANN_2022.a, SRC_HOFFMANN_DERIVED)))
    s = _ratio_samples(fit, np.array([C_CHINCHILLA]))[:, 0]
    iv = _percentiles(s)
    r_est = Estimate(float(_ratio(fit, C_CHINCHILLA)), iv, how, "" if iv else "no bootstrap")
    label = f"D_opt/N_opt at C = {C_CHINCHILLA:.3g} FLOPs"
    rows.append(
        Row(
            label,
            r_est,
            Published(float(_ratio(BESIROGLU_2024, C_CHINCHILLA)), SRC_BESIROGLU_DERIVED),
            digits=3,
        )
    )
    rows.append(
        Row(
            label + " vs Hoffmann",
            r_est,
            Published(float(_ratio(HOFFMANN_2022, C_CHINCHILLA)), SRC_HOFFMANN_DERIVED),
            digits=3,
        )
    )
    return rows


def _percentiles(s: np.ndarray, ci: float = 0.95) -> tuple[float, float] | None:
    s = s[np.isfinite(s)]
    if s.size == 0:
        return None
    lo, hi = np.percentile(s, [50 * (1 - ci), 50 * (1 + ci)])
    return float(lo), float(hi)


def _isoflop_panel(
    ax: Any, N: np.ndarray, C: np.ndarray, L: np.ndarray, keep: np.ndarray, fit: Any
) -> int:
    """Loss against N at each Hoffmann budget (points within 0.1 dex), the fitted law's profile
    L(N, C/(6N)) at that budget and its minimum; other points grey. Returns the points binned."""
    colors = _budget_colors(list(HOFFMANN_BUDGETS))
    binned = np.zeros(len(N), dtype=bool)
    for b in HOFFMANN_BUDGETS:
        sel = keep & (np.abs(np.log10(C / b)) <= BUDGET_TOLERANCE_DEX)
        binned |= sel
        if not sel.any():
            continue
        ax.plot(N[sel], L[sel], "o", ms=4, color=colors[b], label=f"C={_fmt_flops(b)}")
        ns = np.geomspace(N[sel].min() / 1.5, N[sel].max() * 1.5, 80)
        ax.plot(ns, fit.predict(ns, b / (6 * ns)), "-", lw=1.1, color=colors[b], alpha=0.85)
        n_opt, _ = fit.compute_optimal(b)
        ax.plot(
            n_opt,
            fit.predict(n_opt, b / (6 * n_opt)),
            "*",
            ms=10,
            color=colors[b],
            mec="black",
            mew=0.6,
            zorder=5,
        )
    other = keep & ~binned
    ax.plot(N[other], L[other], "o", ms=3, color="0.75", label="between budgets")
    ax.plot(
        N[~keep], L[~keep], "x", ms=5, color="0.4", label=f"dropped ({DROP_HIGHEST} highest losses)"
    )
    ax.set_xscale("log")
    ax.set_ylim(min(L) - 0.05, min(4.0, max(L[keep]) + 0.15))
    ax.set_xlabel("parameters N")
    ax.set_ylabel("final training loss\n(read off Hoffmann et al. Fig. 4)")
    ax.set_title(
        "(a) isoFLOP profiles at Hoffmann's 9 budgets (±0.1 dex)\n"
        "lines: our law L(N, C/6N); stars: its minimum (Hoffmann Fig. 3 left)"
    )
    legend_outside(ax)
    return int(binned.sum())


def _ratio_panel(ax: Any, fit: Any) -> None:
    """D_opt/N_opt against C: ours with its bootstrap band, Besiroglu's and Hoffmann's laws."""
    cs = np.geomspace(1e18, 1e26, 60)
    s = _ratio_samples(fit, cs)
    ours = _ratio(fit, cs)
    label = f"ours, a = {fit.a:.3f}"
    if s.size:
        lo, hi = np.nanpercentile(s, [2.5, 97.5], axis=0)
        ax.fill_between(
            cs, lo, hi, color="#1f77b4", alpha=0.2, lw=0, label="ours, 95% bootstrap band"
        )
        ia = fit.intervals.get("a")
        label += f" [{ia[0]:.3f}, {ia[1]:.3f}]" if ia else ""
    ax.plot(cs, ours, "-", color="#1f77b4", lw=1.6, label=label)
    ax.plot(
        cs,
        _ratio(BESIROGLU_2024, cs),
        "--",
        color="#d62728",
        lw=1.3,
        label=f"Besiroglu et al. 2024 Table 1, a = {BESIROGLU_2024.a:.3f}",
    )
    ax.plot(
        cs,
        _ratio(HOFFMANN_2022, cs),
        ":",
        color="black",
        lw=1.5,
        label=f"Hoffmann et al. 2022 §3.3, a = {HOFFMANN_2022.a:.3f}",
    )
    ax.axvline(C_CHINCHILLA, color="0.6", lw=0.8)
    # At the bottom, left of the line: at the top the label ran over Hoffmann's dotted line, and
    # the band's lower edge stays well above the axis bottom left of Chinchilla's budget.
    ax.text(
        C_CHINCHILLA / 1.4,
        0.03,
        "Chinchilla\n5.76e23 FLOPs",
        transform=ax.get_xaxis_transform(),
        ha="right",
        va="bottom",
        fontsize=7,
        color="0.4",
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training compute C = 6ND (FLOPs)")
    ax.set_ylabel("compute-optimal tokens per parameter\nD_opt / N_opt")
    ax.set_title(
        "(b) compute-optimal D/N (Hoffmann eq. 4)\nours vs Besiroglu et al. vs Hoffmann et al."
    )
    legend_outside(ax)


def run(
    frames: dict[str, pd.DataFrame], paths: list[str], bootstrap: int, seed: int
) -> Reproduction:
    df = frames[TABLE.file]
    N, C, L, keep = _points(df)
    D = C / (6.0 * N)  # Epoch derives tokens as D = C / (6 N) (PROVENANCE.md)
    fit = fit_chinchilla(N[keep], D[keep], L[keep], bootstrap=bootstrap, seed=seed)
    rows = _rows(fit, bootstrap)
    with matplotlib.rc_context(STYLE):
        fig, (ax_iso, ax_ratio) = _panels(2, width=6.0, height=4.4)
        n_binned = _isoflop_panel(ax_iso, N, C, L, keep, fit)
        _ratio_panel(ax_ratio, fit)
        for a in fig.axes:
            _log_ticks(a)
        iv = fit.intervals
        fig.suptitle(
            f"Chinchilla law refitted on {TABLE.file} ({int(keep.sum())} points): "
            f"ours alpha = {fit.alpha:.4f} {_iv(iv.get('alpha'))}, "
            f"beta = {fit.beta:.4f} {_iv(iv.get('beta'))}, "
            f"E = {fit.E:.4f} {_iv(iv.get('E'))}\n"
            f"Besiroglu et al. 2024 Table 1: alpha = 0.3478, beta = 0.3658, E = 1.8172;  "
            f"Hoffmann et al. 2022: alpha = 0.34, beta = 0.28, E = 1.69",
            fontsize=9.5,
        )
        fig.tight_layout(rect=(0, 0.03, 1, 1))
        _footer(fig, paths[0], df.assign(flops_convention="C = 6ND (Epoch: D = C/6N)"))
    caption = (
        f"{TABLE.file}: (a) the points read off Hoffmann et al. 2022 Fig. 4 at their nine isoFLOP "
        f"budgets ({n_binned} of {int(keep.sum())} fitted points within 0.1 dex), with our fitted "
        "law's profile at each budget; (b) compute-optimal tokens per parameter against compute, "
        "ours with the 95% bootstrap band beside Besiroglu et al. 2024 (Table 1) and Hoffmann et "
        "al. 2022 (§3.3)."
    )
    notes = [
        f"{int(keep.sum())} of {len(L)} points fitted: the {DROP_HIGHEST} highest losses dropped "
        "(Besiroglu et al. 2024; `loss < sorted(loss)[-5]`).",
        f"Fit: summed Huber (delta = 1e-3) of log residuals, {fit.n_starts} starts (Hoffmann et "
        f"al. 2022 App. D.2 grid), R^2 = {fit.r2:.4f}, {fit.n_bootstrap_failed} failed resamples.",
        "The published 95% intervals are Besiroglu et al.'s standard errors x 1.96 (their Table 1 "
        "gives estimate and SE); Hoffmann et al. publish no interval.",
    ]
    return Reproduction(
        name="chinchilla",
        title="Chinchilla scaling law: Besiroglu et al. 2024 replication on Epoch's data",
        tables=paths,
        rows=rows,
        figure=fig,
        caption=caption,
        bootstrap=bootstrap,
        seed=seed,
        notes=notes,
        details={"fit": fit.to_dict()},
    )


def _iv(iv: tuple[float, float] | None) -> str:
    return "(no interval)" if not iv else f"[{iv[0]:.4f}, {iv[1]:.4f}]"


SPEC = Spec(
    name="chinchilla",
    title="Besiroglu et al. 2024 / Hoffmann et al. 2022: the parametric Chinchilla law",
    tables=(TABLE,),
    default_bootstrap=DEFAULT_BOOTSTRAP,
    run=run,
)
