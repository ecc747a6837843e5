"""Every exchange rate of a sweep: each data type against the reference, and each trace arm
against its outputs-only twin (the process-vs-output pairs). No torch.

The rates themselves (a loss rate on a shared held-out domain, a task rate on a shared verified
task) are ``scaling.analysis.exchange``'s; this module decides which pairs a sweep compares.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from scaling.analysis.estimate import Undetermined
from scaling.analysis.exchange import ExchangeRate, loss_rate, shared_domains, task_rate
from scaling.core.errors import UserError

__all__ = ["PROCESS_NOTE", "all_rates", "pair_rates", "process_pairs"]

PROCESS_NOTE = "process vs output: the same problems written with and without their process"


def process_pairs(df: pd.DataFrame) -> list[tuple[str, str]]:
    """(outputs-only type, trace type) pairs that render the same problems (``data_problems``
    equal, ``data_form`` different; see ``runs.record.data_rendering``): the process-vs-output
    contrasts of a sweep, outputs-only as the reference."""
    if "data_form" not in df or "data_problems" not in df:
        return []
    kinds = df.dropna(subset=["data_form", "data_problems"])
    kinds = kinds.drop_duplicates(["data_type", "data_form", "data_problems"])
    out = []
    for _, g in kinds.groupby("data_problems"):
        outs = sorted(g.data_type[g.data_form == "outputs_only"].unique())
        traces = sorted(g.data_type[g.data_form == "trace"].unique())
        out += [(o, t) for o in outs for t in traces]
    return out


def pair_rates(
    df: pd.DataFrame,
    reference: str,
    treatment: str,
    bootstrap: int = 100,
    n_starts: int | None = None,
    notes: tuple[str, ...] = (),
) -> list[ExchangeRate]:
    """``treatment`` against ``reference`` on every held-out domain and task both share."""
    pair = df[df.data_type.isin([reference, treatment])]
    out = []
    for domain in shared_domains(pair):
        try:
            rate = loss_rate(
                pair, reference, treatment, domain, bootstrap=bootstrap, n_starts=n_starts
            )
        except UserError as exc:
            rate = ExchangeRate(
                reference, treatment, f"loss:{domain}", undetermined=Undetermined(f"`{exc}`")
            )
        out.append(rate)
    for col in (c for c in pair.columns if c.startswith("acc_") and pair[c].notna().all()):
        out.append(task_rate(pair, reference, treatment, col[4:]))
    return [replace(r, notes=(*r.notes, *notes)) for r in out]


def all_rates(
    df: pd.DataFrame,
    reference: str | None = None,
    bootstrap: int = 100,
    n_starts: int | None = None,
) -> list[ExchangeRate]:
    """Every treatment data type against the reference (default: 'web' if present) on every
    shared held-out domain and task, then each process-vs-output pair (``process_pairs``:
    a trace type against its outputs-only twin) when neither is the reference."""
    types = sorted(df.data_type.unique())
    if len(types) < 2:
        return []
    reference = reference or ("web" if "web" in types else types[0])
    out = []
    for treatment in (t for t in types if t != reference):
        out += pair_rates(df, reference, treatment, bootstrap, n_starts)
    for outputs, trace in process_pairs(df):
        if reference not in (outputs, trace):
            out += pair_rates(df, outputs, trace, bootstrap, n_starts, notes=(PROCESS_NOTE,))
    return out
