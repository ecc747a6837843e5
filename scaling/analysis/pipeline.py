"""Sweep analysis: fit every law per data type, draw the figures, state the verdict.

``analyze_sweep(path)`` is what the sweep-end callback and ``scaling report`` run. It reads only
stored results (``analysis.results.load``), so every figure and number can be rebuilt from the
run records with one command. No torch, no Hydra.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scaling.analysis import results
from scaling.core import io
from scaling.core.errors import UserError
from scaling.core.log import get_logger
from scaling.core.validate import whole_number

log = get_logger(__name__)

FITS = "fits.json"
FIGURES = "figures"


def _fit_or_error(fn: Any, *args: Any, **kw: Any) -> Any:
    """The fit, or {'error': reason} when the data cannot support it (recorded, not raised)."""
    try:
        return fn(*args, **kw)
    except UserError as exc:
        return {"error": str(exc)}


# Huber's tuning constant: delta = 1.345 sigma gives 95% asymptotic efficiency at normal errors
# while bounding the influence of outliers (Huber 1981, "Robust Statistics", §4.6).
HUBER_TUNING = 1.345


def replicate_options(g: pd.DataFrame) -> dict[str, Any]:
    """With seed replicates: the parametric fit's Huber scale from the seeds' noise floor
    (``HUBER_TUNING`` x the pooled SD of log loss, never below Hoffmann et al. 2022's 1e-3) and
    a cluster bootstrap over grid points, so that a point's seeds are resampled together.
    Without replicates: Hoffmann's delta = 1e-3 and a bootstrap over runs."""
    from scaling.analysis.estimate import Estimate
    from scaling.analysis.verdict import noise_floor

    nf = noise_floor(g)
    if not isinstance(nf, Estimate):
        return {}
    key = [c for c in ("model", "budget_flops") if c in g]
    clusters = g.groupby(key, sort=False).ngroup().to_numpy()
    return {"huber_delta": max(1e-3, HUBER_TUNING * nf.value), "clusters": clusters}


# the columns of results.load's frame that fit_sweep reads
SWEEP_COLUMNS = ("data_type", "budget_flops", "flops", "params", "tokens", "loss")


def check_sweep_frame(df: Any, bootstrap: Any) -> None:
    """``UserError`` unless ``df`` is a non-empty frame of runs with the ``SWEEP_COLUMNS``
    (what ``results.load`` gives) and ``bootstrap`` a whole number >= 0."""
    whole_number(bootstrap, "bootstrap")
    if not isinstance(df, pd.DataFrame):
        raise UserError(
            f"fit_sweep: expected the DataFrame of scaling.results.load(path), got "
            f"{type(df).__name__}"
        )
    if df.empty:
        raise UserError("no finished runs to fit (result.json files); run the sweep first")
    missing = [c for c in SWEEP_COLUMNS if c not in df.columns]
    if missing:
        raise UserError(
            f"fit_sweep: the frame has no {missing[0]!r} column; it needs "
            f"{', '.join(SWEEP_COLUMNS)} (as scaling.results.load gives them); columns "
            f"present: {', '.join(map(repr, df.columns))}"
        )


def fit_sweep(
    df: pd.DataFrame, *, bootstrap: int = 200, seed: int = 0, n_starts: int | None = None
) -> dict[str, dict[str, Any]]:
    """{data_type: {"isoflop": IsoFlopFit, "chinchilla": ChinchillaFit, "accuracy/<task>": ...}}.

    isoFLOP groups runs by their target budget (``budget_flops``) and takes D_opt from the
    runs' token counts; the parametric law is fitted on (params, tokens, loss) of every run.
    A law the runs cannot support is recorded as {"error": reason}.
    """
    from scaling import fit

    check_sweep_frame(df, bootstrap)
    out: dict[str, dict[str, Any]] = {}
    for data_type, g in df.groupby("data_type", sort=True):
        g = g[np.isfinite(g["loss"].astype(float))]
        fits: dict[str, Any] = {}
        fits["isoflop"] = _fit_or_error(
            fit.fit_isoflop,
            g.flops,
            g.params,
            g.loss,
            g.tokens,
            budget=g.budget_flops,
            bootstrap=bootstrap,
            seed=seed,
        )
        fits["chinchilla"] = _fit_or_error(
            fit.fit_chinchilla,
            g.params,
            g.tokens,
            g.loss,
            bootstrap=bootstrap,
            seed=seed,
            n_starts=n_starts,
            **replicate_options(g),
        )
        for col in results.accuracy_columns(g):
            acc = g[col].astype(float)
            if acc.nunique() > 1 and acc.max() > 0:
                fits[f"accuracy/{col[4:]}"] = _fit_or_error(
                    fit.fit_accuracy, g.flops, acc, against="log_flops"
                )
        out[str(data_type)] = fits
    return out


def fits_to_dict(fits: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        dt: {law: (r if isinstance(r, dict) else r.to_dict()) for law, r in laws.items()}
        for dt, laws in fits.items()
    }


def write_json(path: Path, obj: Any) -> None:
    io.atomic_write_json(path, io.jsonable(obj))


def sweep_summary(df: pd.DataFrame, path: Path) -> dict[str, Any]:
    return {
        "path": str(path),
        "runs": len(df),
        "data_types": sorted(df.data_type.unique().tolist()),
        "budgets": sorted(float(b) for b in df.budget_flops.unique()),
        "models": sorted(df.model.unique().tolist(), key=lambda m: df[df.model == m].params.min()),
        "flops_convention": sorted(df.flops_convention.unique().tolist()),
        "wall_seconds_total": float(df.wall_seconds.sum()),
        "analyzed_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def analysis_digest(root: Path, name: str, options: dict[str, Any]) -> str:
    """The cache key of an analysis of ``root``: its run records, ``options`` and the code."""
    from scaling.analysis import cache

    runs = [p.parent for p in results.result_files(root)]
    return cache.key(name, options, cache.records_digest(root, runs), cache.code_digest())


def _costs_key(costs: Any) -> Any:
    """The cost model as JSON; None is the default model (as ``verdict.build`` takes it)."""
    import dataclasses

    from scaling.core.costs import CostModel

    costs = CostModel() if costs is None else costs
    return dataclasses.asdict(costs) if dataclasses.is_dataclass(costs) else costs


def analyze_sweep(
    path: str | Path,
    *,
    bootstrap: int = 200,
    unique_tokens: float | None = None,
    budget: float | None = None,
    costs: Any = None,
    refit: bool = False,
) -> str:
    """Fits, figures and verdict for the sweep at ``path``; returns the verdict text.

    Served from the analysis cache (``analysis.cache``) when the run records, the options and
    the code are those of the last analysis and its files are still there; ``refit=True``
    recomputes regardless."""
    from scaling.analysis import cache, plots, verdict

    root = Path(path)
    if not root.is_dir():
        what = "not a directory" if root.exists() else "no such directory"
        raise UserError(f"{path}: {what}; pass a sweep directory such as runs/quickstart")
    whole_number(bootstrap, "bootstrap")
    options = {"bootstrap": bootstrap, "unique_tokens": unique_tokens, "budget": budget}
    digest = analysis_digest(root, "analysis", {**options, "costs": _costs_key(costs)})
    hit = None if refit else cache.lookup(root, "analysis", digest)
    if hit is not None:
        log.info("(the stored analysis of %s: records unchanged; --refit recomputes)", hit["at"])
        return str(hit["verdict_text"])
    df = results.load(root)
    fits = fit_sweep(df, bootstrap=bootstrap)
    summary = sweep_summary(df, root)
    write_json(root / FITS, {"sweep": summary, **fits_to_dict(fits)})
    figures = plots.save_all(
        df, fits, root / FIGURES, source=str(root), curves=results.load_curves(root)
    )
    v = verdict.build(df, fits, unique_tokens=unique_tokens, budget=budget, costs=costs)
    write_json(root / "verdict.json", {"sweep": summary, **verdict.to_jsonable(v)})
    io.atomic_write_text(root / "verdict.md", verdict.to_markdown(v, summary))
    text = verdict.to_text(v)
    files = [FITS, "verdict.json", "verdict.md", *(str(p.relative_to(root)) for p in figures)]
    cache.store(root, "analysis", digest, verdict_text=text, files=files, at=summary["analyzed_at"])
    store_figures(root, bootstrap, figures)
    return text


def store_figures(root: Path, bootstrap: int, figures: list[Path]) -> None:
    """Record the figures in ``root/figures`` as current for ``scaling plot --bootstrap``."""
    from scaling.analysis import cache

    digest = analysis_digest(root, "figures", {"bootstrap": bootstrap})
    names = [str(p.relative_to(root)) for p in figures]
    pdfs = [str(Path(n).with_suffix(".pdf")) for n in names]
    cache.store(root, "figures", digest, files=[*names, *pdfs], figures=names)


def cached_figures(root: Path, bootstrap: int) -> list[Path] | None:
    """The figures of ``root/figures`` when they are current for these records and code."""
    from scaling.analysis import cache

    hit = cache.lookup(root, "figures", analysis_digest(root, "figures", {"bootstrap": bootstrap}))
    return None if hit is None else [root / f for f in hit["figures"]]


def load_fits(path: str | Path) -> dict[str, Any]:
    f = Path(path) / FITS
    if not f.exists():
        raise UserError(f"{f} not found; run: scaling fit {path}")
    return json.loads(f.read_text())
