"""The end of a hyperparameter search (``hparams_search=...``): the best trial, the trials ranked,
and whether the best value of each searched range lies inside it."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf

# A best value within this fraction of its range's log-width from an end is "at the edge": the
# optimum may lie outside, and an untuned LR biases fitted exponents (Porian et al. 2024, Sec. 4).
EDGE_FRACTION = 0.1
RESULTS = "optimization_results.yaml"  # what Hydra's Optuna sweeper writes into the sweep dir


def _interval(spec: str) -> tuple[float, float] | None:
    """(low, high) of an Optuna sweeper ``interval(a, b)`` / ``tag(log, interval(a, b))``."""
    if "interval(" not in spec:
        return None
    inner = spec.split("interval(", 1)[1].split(")", 1)[0]
    low, high = (float(x) for x in inner.split(","))
    return low, high


def edge_warnings(best: dict[str, Any], params: dict[str, str]) -> list[str]:
    """Searched parameters whose best value lies in the outer EDGE_FRACTION of its range."""
    out = []
    for name, spec in params.items():
        bounds, value = _interval(str(spec)), best.get(name)
        if bounds is None or not isinstance(value, int | float):
            continue
        log = "log" in str(spec) and bounds[0] > 0
        lo, hi, v = (math.log(x) if log else x for x in (*bounds, value))
        where = (v - lo) / (hi - lo) if hi > lo else 0.5
        if where < EDGE_FRACTION or where > 1 - EDGE_FRACTION:
            out.append(f"{name}={value:.3g} lies at the edge of [{bounds[0]:g}, {bounds[1]:g}]")
    return out


def _fmt(name: str, value: Any) -> str:
    return f"{name}={value:.3g}" if isinstance(value, float) else f"{name}={value}"


def print_search_summary(out_dir: str, config: DictConfig) -> None:
    """Print the best trial (a point from one seed per trial: no interval, said so), the trials
    ranked by the objective, and edge warnings; a missing result file is said in one line."""
    path = Path(out_dir) / RESULTS
    if not path.exists():
        print(f"search: no {path} (the sweeper wrote no result)", file=sys.stderr)
        return
    result = yaml.safe_load(path.read_text())
    best = result.get("best_params", {})
    objective = OmegaConf.select(config, "runtime.objective") or "loss"
    shown = ", ".join(_fmt(k, v) for k, v in best.items())
    print(
        f"search: best {objective} = {result.get('best_value', float('nan')):.4f} at {shown} "
        "(one seed per trial: a point, not an estimate; rerun the best and its neighbours with "
        "seeds for an interval)",
        file=sys.stderr,
    )
    params = OmegaConf.to_container(config.hydra.sweeper.params or {}, resolve=True)
    for line in edge_warnings(best, dict(params)):  # type: ignore[arg-type]
        print(f"search: warning: {line}; widen the range", file=sys.stderr)
    _print_ranked(out_dir, objective)


def _print_ranked(out_dir: str, objective: str, top: int = 5) -> None:
    from scaling.analysis.results import load

    df = load(out_dir)
    if df.empty or objective not in df:
        return
    cols = [c for c in ("run_id", "peak_lr", "batch_size", "tokens", objective) if c in df]
    ranked = df.sort_values(objective)[cols].head(top)
    print(f"search: {len(df)} trials, best {min(top, len(df))}:", file=sys.stderr)
    print(ranked.to_string(index=False), file=sys.stderr)
