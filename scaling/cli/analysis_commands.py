"""Subcommands over stored results: fit (here) and, in ``sweep_commands``, plot, report, verdict."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from scaling.core.errors import UserError

LAW_CHOICES = ("all", "isoflop", "chinchilla", "data_constrained", "accuracy", "envelope")


def _mapping(items: list[str] | None) -> dict[str, str]:
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise UserError(
                f'--map {item!r}: use canonical="Your Column", e.g. params="Model Size"'
            )
        out[key.strip()] = value.strip().strip("\"'")
    return out


def load_frame(path: str, mapping: dict[str, str]) -> tuple[Any, str]:
    """(frame, kind): a sweep directory's runs, or any CSV/Parquet table of runs."""
    from scaling.analysis import results
    from scaling.analysis.tables import read_table

    p = Path(path)
    if p.is_dir():
        df = results.load(p)
        if df.empty:
            raise UserError(f"{path}: no finished runs (result.json) below this directory")
        return df.assign(budget=df["budget_flops"]), "sweep"
    if not p.exists():
        raise UserError(
            f"{path}: no such file or directory; pass a sweep directory or a .csv/.parquet table"
        )
    return read_table(p, mapping or None), "table"


def _laws_for(df: Any, law: str, kind: str) -> list[str]:
    if law != "all":
        return [law]
    laws = ["isoflop", "chinchilla"] if kind == "sweep" else ["chinchilla"]
    if kind == "table" and "flops" in df.columns:
        laws.insert(0, "isoflop")
    if "unique_tokens" in df.columns and (df["tokens"] > df["unique_tokens"] * 1.01).any():
        laws.append("data_constrained")
    return laws


def cmd_fit(args: argparse.Namespace) -> int:
    from scaling.analysis import tables

    if args.bootstrap < 0:
        raise UserError(f"--bootstrap={args.bootstrap}: must be >= 0 (e.g. --bootstrap 200)")

    df, kind = load_frame(args.path, _mapping(args.map))
    for column, how in (df.attrs.get("derived") or {}).items():
        print(f"note: {column} is not in the table; derived as {how}", file=sys.stderr)
    by = args.by if args.by in df.columns else None
    out: dict[str, Any] = {}
    laws = _laws_for(df, args.law, kind)
    if args.compare and "chinchilla" not in laws:
        raise UserError(
            f"--compare compares a Chinchilla law: use --law chinchilla (or all), not {args.law}"
        )
    if args.base and "data_constrained" not in laws:
        raise UserError("--base is the data_constrained law's base: use --law data_constrained")
    for law in laws:
        kw: dict[str, Any] = {}
        if law in ("isoflop", "chinchilla", "data_constrained"):
            kw["bootstrap"] = args.bootstrap
            if args.holdout:
                kw["holdout"] = args.holdout
        if law == "isoflop" and args.method:
            kw["method"] = args.method
        if law == "data_constrained" and args.base:
            kw["base"] = args.base
        frame = df
        if law == "accuracy":
            kw["column"] = _accuracy_column(df, args.column)
        if law == "envelope" and kind == "sweep":
            frame = _sweep_curves(args.path)
        results, errors = _fit_groups(frame, law, by, kw, strict=len(laws) == 1 and kind == "table")
        print(f"\n== {law} ({kind}: {args.path}) ==")
        if results:
            print(tables.format_table(results))
        for name, why in errors.items():
            print(f"{name}: not fitted: {why}")
        for line in _gate_lines(law, results):
            print(line)
        failed = {k: {"error": v} for k, v in errors.items()}
        out[law] = {**tables.results_to_dict(results), **failed}
        if law == "isoflop" and kind == "sweep":
            table = convention_sensitivity(df, by, kw.get("method"), args.bootstrap)
            print("\n== isoflop exponents under each recorded FLOP convention ==")
            print(format_sensitivity(table))
            out["isoflop_by_convention"] = table
        if law == "chinchilla" and args.compare:
            out["compare"] = _compare(frame, by, results, args)
    if args.json:
        from scaling.analysis.pipeline import write_json

        write_json(Path(args.json), out)
        print(f"\nwrote {args.json}", file=sys.stderr)
    return 0


def _gate_lines(law: str, results: dict[str, Any]) -> list[str]:
    """Whether each group's law passes the validity gates (analysis.gates), with the reasons."""
    from scaling.analysis.gates import isoflop_gate, parametric_gate

    gate_of = {"isoflop": isoflop_gate, "chinchilla": parametric_gate}.get(law)
    if gate_of is None:
        return []
    out = []
    for name, res in results.items():
        g = gate_of(res)
        out.append(
            f"{name}: validity gates: "
            + ("passed" if g.usable else f"rejected ({g.why()})".replace("`", ""))
        )
    return out


def _fit_groups(
    frame: Any, law: str, by: str | None, kw: dict[str, Any], *, strict: bool
) -> tuple[dict[str, Any], dict[str, str]]:
    """Fit ``law`` per group; a group the law cannot fit is reported with its reason, so the
    other groups (and laws) still print. ``strict``: one law on one table, so its error is the
    command's (one line, exit 2)."""
    from scaling.analysis import tables

    try:
        return tables.fit_frame(frame, law, by=by, **kw), {}
    except UserError as exc:
        if strict or by is None:
            if strict:
                raise
            return {}, {"all": str(exc)}
    results: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, g in frame.groupby(by, sort=True):
        try:
            results.update({str(name): tables.fit_frame(g, law, by=None, **kw)["all"]})
        except UserError as exc:
            errors[str(name)] = str(exc)
    return results, errors


def _compare(df: Any, by: str | None, results: dict[str, Any], args: argparse.Namespace) -> Any:
    """Epoch's comparison of a published law with each group's data (Besiroglu et al. 2024 §3):
    the likelihood-ratio test and the chi-square against the refit's bootstrap covariance."""
    from scaling.fit.compare import compare_published, format_comparison
    from scaling.fit.lawfile import load_law

    published = load_law(args.compare)
    if args.bootstrap < 20:
        raise UserError(
            "--compare needs --bootstrap 20 or more (the chi-square uses its covariance)"
        )
    groups = [("all", df)] if by is None else [(str(k), g) for k, g in df.groupby(by, sort=True)]
    out = {}
    for name, g in groups:
        res = compare_published(
            g["params"],
            g["tokens"],
            g["loss"],
            published,
            name=str(args.compare),
            bootstrap=args.bootstrap,
        )
        print(f"\n== compare {args.compare} with {name} ==")
        print(format_comparison(res))
        out[name] = res.to_dict()
    return out


def convention_sensitivity(
    df: Any, by: str | None, method: str | None, bootstrap: int
) -> list[dict[str, Any]]:
    """isoFLOP exponents a, b of the same runs with N and C counted under each FLOP convention
    the runs recorded (``params_<conv>``, ``flops_<conv>``): at this scale the head and
    attention are 10-72% of the compute (Pearce and Song 2024), so the convention moves a."""
    from scaling import fit

    convs = sorted(
        c[len("flops_") :]
        for c in df.columns
        if c.startswith("flops_")
        and f"params_{c[len('flops_') :]}" in df.columns
        and c != "flops_convention"
    )
    rows = []
    groups = [("all", df)] if by is None else [(str(k), g) for k, g in df.groupby(by, sort=True)]
    for name, g in groups:
        for conv in convs:
            row: dict[str, Any] = {"group": name, "convention": conv}
            kw = {"method": method} if method else {}
            try:
                r = fit.fit_isoflop(
                    g[f"flops_{conv}"],
                    g[f"params_{conv}"],
                    g["loss"],
                    g["tokens"],
                    budget=g["budget_flops"],
                    bootstrap=bootstrap,
                    **kw,
                )
                row.update(
                    a=r.a,
                    a_interval=list(r.n_opt_law.interval),
                    b=r.b,
                    b_interval=list(r.d_opt_law.interval),
                    budgets=len(r.used),
                )
            except UserError as exc:
                row["error"] = str(exc)
            rows.append(row)
    return rows


def format_sensitivity(rows: list[dict[str, Any]]) -> str:
    from scaling.analysis.tables import _fmt

    out = ["group  convention  a [95%]  b [95%]"]
    for r in rows:
        if "error" in r:
            out.append(f"{r['group']}  {r['convention']}  not fitted: {r['error']}")
            continue
        ai, bi = r["a_interval"], r["b_interval"]
        out.append(
            f"{r['group']}  {r['convention']}  {_fmt(r['a'])} [{_fmt(ai[0])}, {_fmt(ai[1])}]  "
            f"{_fmt(r['b'])} [{_fmt(bi[0])}, {_fmt(bi[1])}]"
        )
    return "\n".join(out)


def _accuracy_column(df: Any, column: str) -> str:
    if column in df.columns:
        return column
    acc = [c for c in df.columns if c.startswith("acc_") and df[c].notna().any()]
    if not acc:
        raise UserError(f"--column {column!r}: no such column and no acc_<task> column present")
    return acc[0]


def _sweep_curves(path: str) -> Any:
    """Training-loss curves of a sweep in the envelope law's columns (run, flops, loss, ...)."""
    from scaling.analysis import results

    c = results.load_curves(path)
    if c.empty:
        raise UserError(f"{path}: no learning curves (metrics.jsonl) to build an envelope from")
    c = c[c["kind"] == "train"]
    return c[["run_id", "data_type", "flops", "loss", "params", "tokens"]].rename(
        columns={"run_id": "run"}
    )


def add(sub: argparse._SubParsersAction) -> None:
    """Register ``scaling fit`` (plot, report and verdict: ``sweep_commands.add``)."""
    _add_fit(sub)


def _add_fit(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fit", help="fit scaling laws to a sweep directory or a CSV/Parquet table")
    p.add_argument("path", help="sweep directory, or a table with params, tokens, loss columns")
    p.add_argument("--law", choices=LAW_CHOICES, default="all")
    p.add_argument(
        "--map",
        action="append",
        metavar='CANON="Column"',
        help='rename a column, e.g. --map params="Model Size" (repeatable)',
    )
    p.add_argument(
        "--by", default="data_type", help="fit each group of this column (default data_type)"
    )
    p.add_argument("--bootstrap", type=int, default=200, help="bootstrap resamples for intervals")
    p.add_argument(
        "--holdout",
        choices=("largest",),
        help="also fit without the largest budget/model and report the error there",
    )
    p.add_argument("--column", default="accuracy", help="accuracy column for --law accuracy")
    p.add_argument(
        "--method",
        choices=("quadratic", "spline", "varpro"),
        default=None,
        help="isoFLOP minimum per budget (default: the measured best, see scaling.fit.isoflop)",
    )
    p.add_argument(
        "--base",
        help="data_constrained base law: free, tied (alpha = beta), a preset "
        "(muennighoff2023, hoffmann2022, besiroglu2024) or a JSON law file (held fixed)",
    )
    p.add_argument(
        "--compare",
        metavar="LAW",
        help="compare a published law (preset or JSON file) with the data: likelihood-ratio and "
        "chi-square tests (Besiroglu et al. 2024)",
    )
    p.add_argument("--json", metavar="OUT", help="write the results as JSON")
    p.set_defaults(func=cmd_fit)
