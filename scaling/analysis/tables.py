"""Tables of runs in, fitted laws out: reading, validation, dispatch and printing.

``read_table`` loads a CSV or Parquet table of runs with columns ``params``, ``tokens``, ``loss``
and optional ``unique_tokens``, ``flops``, ``data_type``, ``seed``, ``budget`` (any user column
can be mapped to these names). ``fit_frame`` fits one law per group (e.g. per data type) and
``format_table`` prints the results with their intervals. Bad input raises ``UserError`` with
one line naming the column and what is allowed.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scaling.core.errors import UserError

NUMERIC = ("params", "tokens", "loss", "unique_tokens", "flops")
OPTIONAL = ("unique_tokens", "flops", "data_type", "seed", "budget")
LAWS = ("isoflop", "chinchilla", "data_constrained", "accuracy", "envelope")
DERIVED_TOKENS = "tokens = flops / (6 * params)"
DERIVED_FLOPS = "flops = 6 * params * tokens"

# Fewest rows per group each law can use (the fit functions check the finer conditions).
MIN_POINTS = {"chinchilla": 5, "data_constrained": 2, "isoflop": 6, "accuracy": 3, "envelope": 2}


def _read(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if path.is_file() and path.stat().st_size == 0:
        raise UserError(
            f"{path}: an empty file; a table has a header row (e.g. params,tokens,loss) and one "
            "row per run"
        )
    try:
        if suffix in (".csv", ".txt"):
            return pd.read_csv(path)
        if suffix == ".tsv":
            return pd.read_csv(path, sep="\t")
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
    except (OSError, ValueError, ImportError) as exc:
        raise UserError(f"{path}: could not read the table ({exc})") from None
    raise UserError(f"{path}: unsupported file type '{suffix}'; allowed: .csv, .tsv, .parquet")


def _line_hint(path: Path | None, i: int) -> str:
    if path is not None and path.suffix.lower() in (".csv", ".tsv", ".txt"):
        return f"row {i} (file line {i + 2})"
    return f"row {i}"


def validate_columns(
    df: pd.DataFrame,
    columns: Sequence[str],
    *,
    path: Path | None = None,
) -> pd.DataFrame:
    """Coerce ``columns`` to float; ``UserError`` at the first missing, non-finite or <= 0 value."""
    out = df.copy()
    for c in columns:
        if c not in out.columns:
            continue
        num = pd.to_numeric(out[c], errors="coerce")
        v = num.to_numpy(dtype=float)
        bad = ~(np.isfinite(v) & (v > 0))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            where = f"{path}: " if path is not None else ""
            raise UserError(
                f"{where}column '{c}': values must be finite numbers > 0; {_line_hint(path, i)} "
                f"{_cell_text(out[c].iloc[i])}; fix or drop that row"
            )
        out[c] = v
    return out


def _cell_text(value: Any) -> str:
    """How a bad cell reads in an error: 'is empty or not a number' for NaN (pandas reads an
    empty cell, "n/a" or "NA" as NaN), else 'has <value>'."""
    if isinstance(value, float | np.floating) and math.isnan(value):
        return "is empty or not a number"
    return f"has {value.item() if isinstance(value, np.generic) else value!r}"


def check_numeric_columns(df: pd.DataFrame, columns: Sequence[str], path: Path) -> None:
    """``UserError`` naming the file, column and row when a column of ``columns`` that holds
    numbers (most of its cells parse as one) has a cell that is empty, text or not finite."""
    for c in columns:
        if c not in df.columns or len(df) == 0:
            continue
        v = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(v)
        if bad.any() and bad.mean() < 0.5:
            i = int(np.flatnonzero(bad)[0])
            raise UserError(
                f"{path}: column '{c}': values must be finite numbers; {_line_hint(path, i)} "
                f"{_cell_text(df[c].iloc[i])}; use the published table as it is distributed"
            )


def check_published(prepared: Any) -> Any:
    """A prepared reproduction (``analysis.reproduce.prepare``) with every numeric column of
    its tables checked (``check_numeric_columns``), so that a damaged table stops before the
    run, naming the file, column and row; returns it."""
    for table, path in zip(prepared.spec.tables, prepared.paths, strict=True):
        check_numeric_columns(prepared.frames[table.file], table.columns, path)
    return prepared


def check_duplicates(df: pd.DataFrame, path: Path) -> None:
    """``UserError`` when two rows of the table are identical in every column: a run listed
    twice (a table pasted twice, say) would count twice in every fit and interval."""
    dup = df.duplicated(keep=False)
    if not dup.any():
        return
    first, second = (int(i) for i in np.flatnonzero(dup.to_numpy())[:2])
    raise UserError(
        f"{path}: {_line_hint(path, first)} and {_line_hint(path, second)} are identical; a "
        "table lists each run once: drop the duplicate (pandas: df.drop_duplicates()) or add "
        "a column telling them apart (e.g. seed)"
    )


def read_table(
    path: str | os.PathLike,
    mapping: Mapping[str, str] | None = None,
    *,
    required: Sequence[str] = ("params", "tokens", "loss"),
) -> pd.DataFrame:
    """Read a CSV/Parquet table of runs and check it.

    ``mapping`` renames user columns to the canonical names, e.g. ``{"params": "Model Size"}``.
    ``tokens`` missing but ``flops`` present: tokens = flops / (6 params), recorded in
    ``df.attrs["derived"]``. Raises ``UserError`` for a missing required column (listing the
    columns present and how to map one) and for non-finite or non-positive values (naming the
    column and the first bad row).
    """
    p = Path(path)
    if not p.exists():
        raise UserError(f"{p}: file not found")
    df = _read(p)
    if len(df) == 0:
        raise UserError(f"{p}: the table has no rows")
    if mapping:
        missing_src = {k: v for k, v in mapping.items() if v not in df.columns}
        if missing_src:
            k, v = next(iter(missing_src.items()))
            raise UserError(
                f"{p}: mapping {k}={v!r}: no column {v!r}; columns present: "
                f"{', '.join(repr(c) for c in df.columns)}"
            )
        df = df.rename(columns={v: k for k, v in mapping.items()})
    derived: dict[str, str] = {}
    need_tokens = "tokens" in required and "tokens" not in df.columns
    if need_tokens and "flops" in df.columns and "params" in df.columns:
        df = validate_columns(df, ("params", "flops"), path=p)
        df["tokens"] = df["flops"] / (6.0 * df["params"])
        derived["tokens"] = DERIVED_TOKENS
    for c in required:
        if c not in df.columns:
            present = ", ".join(repr(x) for x in df.columns)
            alt = " (or 'flops', to derive tokens = flops / (6 params))" if c == "tokens" else ""
            raise UserError(
                f"{p}: missing required column '{c}'{alt}; columns present: {present}; "
                f"rename one with --map {c}=\"<your column>\" (mapping={{'{c}': ...}} in Python)"
            )
    df = validate_columns(df, NUMERIC, path=p)
    check_duplicates(df, p)
    df.attrs["derived"] = derived
    df.attrs["source"] = str(p)
    return df


# --------------------------------------------------------------------------- fitting


def _col(df: pd.DataFrame, name: str, law: str) -> np.ndarray:
    if name not in df.columns:
        raise UserError(
            f"{law}: the table has no '{name}' column; columns present: "
            f"{', '.join(repr(c) for c in df.columns)}"
        )
    return df[name].to_numpy()


def _flops(df: pd.DataFrame, law: str) -> np.ndarray:
    if "flops" in df.columns:
        return df["flops"].to_numpy(dtype=float)
    if "params" in df.columns and "tokens" in df.columns:
        return 6.0 * df["params"].to_numpy(dtype=float) * df["tokens"].to_numpy(dtype=float)
    raise UserError(f"{law}: needs a 'flops' column (or 'params' and 'tokens' for 6 N D)")


def _fit_one(law: str, g: pd.DataFrame, kw: dict[str, Any]) -> Any:
    from scaling import fit

    if law == "chinchilla":
        return fit.fit_chinchilla(
            _col(g, "params", law), _col(g, "tokens", law), _col(g, "loss", law), **kw
        )
    if law == "data_constrained":
        return fit.fit_data_constrained(
            _col(g, "params", law),
            _col(g, "tokens", law),
            _col(g, "unique_tokens", law),
            _col(g, "loss", law),
            **kw,
        )
    if law == "isoflop":
        kw = dict(kw)
        if "budget" not in kw and "budget" in g.columns:
            kw["budget"] = g["budget"].to_numpy()
        tokens = g["tokens"].to_numpy(dtype=float) if "tokens" in g.columns else None
        return fit.fit_isoflop(
            _flops(g, law), _col(g, "params", law), _col(g, "loss", law), tokens, **kw
        )
    if law == "accuracy":
        kw = dict(kw)
        column = kw.pop("column", "accuracy")
        against = kw.get("against", "log_flops")
        x = _flops(g, law) if against == "log_flops" else _col(g, "loss", law)
        return fit.fit_accuracy(x, _col(g, column, law), **kw)
    if law == "envelope":
        if "run" not in g.columns and "run_id" in g.columns:
            g = g.rename(columns={"run_id": "run"})
        if "flops" not in g.columns:
            g = g.assign(flops=_flops(g, law))
        return fit.fit_envelope(g, **kw)
    raise UserError(f"law: allowed values are {list(LAWS)}, got {law!r}")


def fit_frame(
    df: pd.DataFrame,
    law: str,
    *,
    by: str | None = "data_type",
    **kw: Any,
) -> dict[str, Any]:
    """Fit ``law`` to each group of ``df`` (grouped by column ``by``; one group "all" if absent).

    ``law``: "isoflop" (flops, params, loss, optional tokens and budget), "chinchilla" (params,
    tokens, loss), "data_constrained" (params, tokens, unique_tokens, loss), "accuracy" (flops or
    loss against the column ``column=...``, default "accuracy"), "envelope" (learning curves:
    run, flops, loss, params, tokens). Keyword arguments go to the fit function, e.g.
    ``bootstrap=200`` or ``holdout="largest"``. Returns {group: result}.
    """
    if not isinstance(df, pd.DataFrame):
        raise UserError(
            f"fit_frame: expected a DataFrame of runs, got {type(df).__name__}; read a table "
            "with scaling.analysis.tables.read_table(path) or a sweep with scaling.results.load"
        )
    if law not in LAWS:
        raise UserError(f"law: allowed values are {list(LAWS)}, got {law!r}")
    if by is not None and by not in df.columns:
        if by != "data_type":
            raise UserError(
                f"by: no column {by!r}; columns present: {', '.join(repr(c) for c in df.columns)}"
            )
        by = None
    groups = [("all", df)] if by is None else [(str(k), g) for k, g in df.groupby(by, sort=True)]
    for name, g in groups:  # check every group before fitting any
        if len(g) < MIN_POINTS[law]:
            where = "" if by is None else f" ({by}={name})"
            raise UserError(f"{law}{where}: needs at least {MIN_POINTS[law]} rows, got {len(g)}")
    return {name: _fit_one(law, g, dict(kw)) for name, g in groups}


# --------------------------------------------------------------------------- output


def results_to_dict(results: Mapping[str, Any]) -> dict[str, Any]:
    """{group: result.to_dict()}: JSON-serialisable."""
    return {str(k): v.to_dict() for k, v in results.items()}


def to_json(results: Mapping[str, Any], **dumps_kw: Any) -> str:
    """JSON text of ``results_to_dict``."""
    dumps_kw.setdefault("indent", 1)
    return json.dumps(results_to_dict(results), **dumps_kw)


def _fmt(v: float | None) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e6:
        return str(int(v))
    return f"{v:.4g}"


def _bound(v: float | None) -> str:
    """An interval bound: an infinite one (the quantity unbounded that way) prints as inf."""
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return _fmt(v)


def _law_name(result: Any) -> str:
    d = result.to_dict()
    return str(d.get("law", type(result).__name__))


def _minimum_text(m: Any) -> str:
    """An isoFLOP minimum with its bootstrap spread and diagnostics (scaling.fit.isoflop)."""
    sig = getattr(m, "sigma_log_n", float("nan"))
    spread = (
        f" [{_fmt(m.n_opt * math.exp(-1.96 * sig))}, {_fmt(m.n_opt * math.exp(1.96 * sig))}]"
        if math.isfinite(sig)
        else ""
    )
    return (
        f"N_opt {_fmt(m.n_opt)}{spread}, centring {m.centring:.2f}, curvature "
        f"{m.curvature:.3g}, sizes below|above {m.points_left}|{m.points_right}"
    )


def _quality_rows(result: Any) -> list[tuple[str, str, str]]:
    r2_label = {"EnvelopeFit": "R^2 (log-log, N_opt)", "SigmoidFit": "R^2 (accuracy)"}.get(
        type(result).__name__, "R^2 (loss)"
    )
    rows = []
    for attr, label in (
        ("converged", "optimiser converged"),
        ("n_bootstrap_failed", "failed bootstrap refits"),
        ("n_bootstrap", "bootstrap resamples"),
        ("r2", r2_label),
        ("r2_plain", "R^2 without repetition"),
        ("objective", "objective"),
        ("n_points", "points"),
    ):
        if hasattr(result, attr):
            v = getattr(result, attr)
            rows.append(
                (label, ("yes" if v else "no") if isinstance(v, bool) else _fmt(float(v)), "")
            )
    h = getattr(result, "holdout", None)
    if h is not None:
        rows.append(("holdout", h.held_out, ""))
        rows.append(("  mean |rel. err.| loss", _fmt(h.mean_abs_loss_rel_error), ""))
        if h.n_opt_rel_error is not None:
            rows.append(("  rel. err. N_opt", _fmt(h.n_opt_rel_error), ""))
    for c, why in (getattr(result, "excluded", None) or {}).items():
        rows.append((f"excluded C={c:.3g}", why, ""))
    from scaling.fit.isoflop import IsoFlopFit

    if isinstance(result, IsoFlopFit):  # (an envelope's ``used`` is an array of points)
        for m in result.used:
            rows.append((f"minimum C={m.flops:.3g}", _minimum_text(m), ""))
    return rows


def _interval_methods(result: Any) -> dict[str, str]:
    """name -> how its interval was made ("profile", "bootstrap", ...), where recorded."""
    m = result.to_dict().get("interval_method") if hasattr(result, "to_dict") else None
    return {str(k): str(v) for k, v in m.items()} if isinstance(m, dict) else {}


def format_table(results: Mapping[str, Any]) -> str:
    """A plain-text table: group, law, quantity, value and interval, one line per quantity."""
    header = ("group", "law", "quantity", "value", "interval")
    lines: list[tuple[str, ...]] = []
    notes: list[str] = []
    for group, res in results.items():
        law = _law_name(res)
        ci = getattr(res, "ci", None)
        identified = getattr(res, "identified", None) or {}
        methods = _interval_methods(res)
        first = True
        for name, (value, interval) in res.summary().items():
            iv = (
                "no interval" if not interval else f"[{_bound(interval[0])}, {_bound(interval[1])}]"
            )
            if interval and ci is not None:
                iv += f" {ci:.0%}" + (f" {methods[name]}" if name in methods else "")
            shown = "not identified" if identified.get(name, True) is False else _fmt(value)
            lines.append((group if first else "", law if first else "", name, shown, iv))
            first = False
        for name, value, iv in _quality_rows(res):
            lines.append(("", "", name, value, iv or ""))
        notes += [f"note ({group}, {law}): {n}" for n in getattr(res, "notes", None) or ()]
    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]
    sep = "  "
    out = [sep.join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    out.append(sep.join("-" * w for w in widths))
    out += [sep.join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in lines]
    return "\n".join(out + notes)
