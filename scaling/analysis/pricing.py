"""What a dollar buys for one data type: the verdict's levers (more compute versus more corrected
unique data) priced with the run-recorded or configured expert time per token and the cost file's
prices (``core.costs``). No torch, no Hydra."""

from __future__ import annotations

from typing import Any

import pandas as pd

from scaling.analysis.estimate import Undetermined
from scaling.analysis.gates import parametric_gate
from scaling.core.costs import CostModel
from scaling.core.errors import UserError
from scaling.fit.allocation import flop_model


def seconds_per_token(df: pd.DataFrame, data_type: str, costs: Any) -> tuple[float | None, str]:
    """Expert-seconds per unique token of a data type: the cost file's value when it sets one
    (an explicit override, as ``core.costs.CostModel.dollars_per_token`` prices it), else what
    its runs recorded (the correction pipeline's median), else unknown."""
    if costs is not None and costs.expert_seconds_per_token is not None:
        return float(costs.expert_seconds_per_token), "from the cost file"
    col = "data_cost_expert_seconds_per_token"
    g = df[df.data_type == data_type]
    if col in g and g[col].notna().any():
        return float(g[col].median()), "recorded by the runs' correction pipeline"
    return None, ""


def levers_entry(
    df: pd.DataFrame, dt: str, par: Any, e: dict[str, Any], costs: Any, budget: float | None
) -> dict[str, Any]:
    """Compute versus data for one data type, or the reason it cannot be priced. ``costs`` is
    a ``core.costs.CostModel`` (``load_costs(None)`` for the defaults)."""
    from scaling.analysis.levers import levers

    if not isinstance(costs, CostModel):
        raise UserError(
            f"costs: expected a scaling.core.costs.CostModel (load_costs(path), or CostModel() "
            f"for the default prices), got {type(costs).__name__}"
        )

    gate = parametric_gate(par)
    if not gate.usable:
        return {
            "undetermined": Undetermined(
                f"its parametric law fails the gates ({gate.why()})", gate.fix()
            )
        }
    pool = e.get("pool_tokens")
    if not pool:
        return {"undetermined": Undetermined("no unique-data pool", "pass --unique-tokens")}
    spt, source = seconds_per_token(df, dt, costs)
    if spt is None:
        return {
            "undetermined": Undetermined(
                "no cost per token: its runs recorded no expert time",
                "set expert_seconds_per_token in --costs",
            )
        }
    g = df[df.data_type == dt]
    c = budget or float(g.budget_flops.max())
    lv = levers(
        par,
        c,
        pool,
        costs.dollars_per_flop,
        costs.dollars_per_token(spt),
        flop_model(g),
        bootstrap_laws=par.bootstrap_laws(),
    )
    return {"levers": lv, "seconds_per_token": spt, "seconds_source": source}
