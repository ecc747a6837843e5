"""``report.md``: one Markdown page per sweep with figures, fitted laws, the verdict and the runs.

Built from the files ``scaling.analysis.pipeline.analyze_sweep`` writes (fits.json, verdict.json,
figures/) and the run records, so it can be rebuilt at any time. No torch, no Hydra.
"""

from __future__ import annotations

import json
from pathlib import Path

from scaling.analysis import results
from scaling.analysis.pipeline import FIGURES, load_fits

CAPTIONS = {
    "isoflop": "Loss against model size at each compute budget; stars: each budget's minimum "
    "(hollow: at the edge of the ladder, excluded from the exponent fit).",
    "loss_vs_compute": "Loss against compute per model size; dashed: the parametric law at its "
    "compute-optimal allocation under the runs' FLOP convention, drawn only when the law passes "
    "the validity gates.",
    "optimal_allocation": "Compute-optimal parameters and tokens against compute: isoFLOP minima "
    "with power laws (solid) and the parametric law's optimum (dashed), each drawn only when it "
    "passes the validity gates; exponents with 95% intervals.",
    "accuracy": "Exact-match accuracy on held-out problems (checked by the generator's verifier).",
    "learning_curves": "Training loss against tokens for every run.",
}


def _gate_text(verdict: dict, dt: str, law: str) -> str:
    """'passes' or 'rejected: reasons', from the verdict's validity gates."""
    key = {"isoflop": "isoflop", "chinchilla": "parametric"}.get(law)
    gate = ((verdict.get("data_types") or {}).get(dt) or {}).get(key or "", {}).get("gate")
    if not gate:
        return "not gated"
    return "passes" if gate["usable"] else "rejected: " + "; ".join(gate["reasons"])


def _law_rows(fits: dict, verdict: dict) -> list[str]:
    """Every fitted parameter with its interval and whether the law passes the validity gates
    (a rejected law's numbers are shown for diagnosis, never used by the verdict)."""
    rows = [
        "| data type | law | quantity | value [95% interval] | validity gates |",
        "|---|---|---|---|---|",
    ]
    for dt, laws in fits.items():
        if dt == "sweep":
            continue
        for law, r in laws.items():
            if "error" in r:
                rows.append(f"| {dt} | {law} | not fitted | `{r['error']}` | |")
                continue
            keys = {"isoflop": ("a", "b"), "chinchilla": ("E", "A", "B", "alpha", "beta", "a", "b")}
            gate = _gate_text(verdict, dt, law)
            for k in keys.get(law, ()):
                iv = (r.get("intervals") or {}).get(k)
                if law == "isoflop":
                    iv = r[f"{'n' if k == 'a' else 'd'}_opt_law"].get("interval")
                if iv and None not in iv and r.get(k) is not None:
                    value = f"{r[k]:.4g} [{iv[0]:.3g}, {iv[1]:.3g}]"
                else:
                    value = "not determined (no finite interval)"
                rows.append(f"| {dt} | {law} | {k} | {value} | {gate} |")
                gate = ""
    return rows


def write_report(sweep_dir: str | Path) -> Path:
    root = Path(sweep_dir)
    fits = load_fits(root)
    verdict = json.loads((root / "verdict.json").read_text())
    df = results.load(root)
    summary = fits["sweep"]
    lines = [
        f"# scaling-lab report: `{root}`",
        "",
        f"`{summary['runs']} runs`, data types {', '.join(summary['data_types'])}, budgets "
        f"{', '.join(f'`{b:.0e}`' for b in summary['budgets'])} FLOPs "
        f"(`{', '.join(summary['flops_convention'])}`), models {', '.join(summary['models'])}; "
        f"`{summary['wall_seconds_total'] / 60:.1f} min` of training wall time in total "
        f"(measured). Rebuild with `scaling report {root}`.",
        "",
        "## Verdict",
        "",
        *[f"- {s}" for s in verdict["statement"]],
        "",
        "## Figures",
        "",
    ]
    for name, caption in CAPTIONS.items():
        if (root / FIGURES / f"{name}.png").exists():
            lines += [f"![{name}]({FIGURES}/{name}.png)", "", f"*{caption}*", ""]
    lines += ["## Fitted laws", "", *_law_rows(fits, verdict), "", "## Runs", ""]
    cols = [
        c
        for c in (
            "run_id",
            "data_type",
            "model",
            "params",
            "budget_flops",
            "tokens",
            "loss",
            "acc_arithmetic",
            "epochs",
            "wall_seconds",
        )
        if c in df
    ]
    lines.append("| " + " | ".join(cols) + " |")
    lines.append("|" + "---|" * len(cols))
    for _, r in df[cols].iterrows():
        lines.append(
            "| "
            + " | ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in r.to_numpy())
            + " |"
        )
    lines += ["", "Caveats:", *[f"- {c}" for c in verdict["caveats"]], ""]
    path = root / "report.md"
    path.write_text("\n".join(lines))
    return path
