"""Sentences of the verdict, written only from typed results (``scaling.analysis.estimate``).

Conventions that keep every statement honest and checkable: an estimated number is always
rendered as ``value [lo, hi]`` (95%); a quantity without an interval is never rendered as a
number but as "not determined (reason; fix)"; inputs the user chose (budgets, pool sizes, run
counts, names) are set in code spans, e.g. `C=8e11`. ``tests/test_verdict_gates.py`` checks
that no other number appears. No torch, no Hydra.
"""

from __future__ import annotations

from typing import Any

from scaling.analysis.estimate import Estimate, Undetermined, num
from scaling.analysis.rates import PROCESS_NOTE

PCT = "95%"


def code(x: Any) -> str:
    """An input value or a name, set apart from estimates."""
    return f"`{x}`"


def flops(c: float) -> str:
    return code(f"C={num(c)}")


def _r(res: Any) -> str:
    return res.render() if res is not None else "not determined"


def _pct(res: Any) -> str:
    """An accuracy as a percentage with its interval."""
    if isinstance(res, Estimate):
        return f"{res.value:.0%} [{res.lo:.0%}, {res.hi:.0%}]"
    return _r(res)


def _law_clause(kind: str, entry: dict[str, Any], names: tuple[str, ...]) -> str:
    gate = entry["gate"]
    if not gate.usable:
        fix = f"; would help: {gate.fix()}" if gate.fix() else ""
        return f"{kind} rejected by the validity gates ({gate.why()}{fix})."
    parts = [f"{k} = {_r(entry.get(k))}" for k in names if k in entry]
    return f"{kind}: " + ", ".join(parts) + f" ({PCT})."


def type_statement(dt: str, e: dict[str, Any]) -> str:
    """One sentence group per data type."""
    s = [f"{code(dt)} ({code(str(e['runs']) + ' runs')}, loss on {code(e['loss_domain'])}):"]
    iso = e["isoflop"]
    s.append(_law_clause("isoFLOP N_opt ∝ C^a, D_opt ∝ C^b", iso, ("a", "b")))
    s.append(_law_clause("Parametric law", e["parametric"], ("E", "alpha", "beta", "a")))
    at = e["at_budget"]
    if "undetermined" in at:
        s.append(f"Compute-optimal allocation at {flops(at['flops'])}: {_r(at['undetermined'])}.")
    else:
        s.append(
            f"At {flops(at['flops'])} ({e['optimum_source']} law) the compute-optimal model has "
            f"N_opt = {_r(at['n_opt'])}, D_opt = {_r(at['d_opt'])}, "
            f"{_r(at['tokens_per_param'])} tokens per parameter."
        )
    for task, acc in e.get("task_accuracy", {}).items():
        s.append(
            f"Best verified {code(task)} accuracy: {_pct(acc['best'])} (run "
            f"{code(acc['model'])} at {flops(acc['budget_flops'])}; Wilson interval over the "
            "scored problems)."
        )
    wall = e.get("data_wall")
    if wall:
        pool = code(f"{num(wall['unique_tokens'])} unique tokens")
        src = e.get("pool_source") or "given"
        if isinstance(wall["fresh"], Undetermined):
            s.append(f"Data wall for {pool} ({src}): {_r(wall['fresh'])}.")
        else:
            s.append(
                f"With {pool} ({src}), data binds beyond C = {_r(wall['fresh'])} of fresh "
                f"data, C = {_r(wall['repeated'])} with "
                f"{code(str(int(wall['repeat_epochs'])) + ' epochs')} ({wall['law']} law)."
            )
    binds = e.get("binds_at_budget")
    if binds:
        s.append(
            f"At {flops(at['flops'])} the binding input is: {binds}"
            + (" (D_opt's interval contains the pool)" if binds == "undetermined" else "")
            + "."
        )
    return " ".join(s)


def ratio_statement(r: dict[str, Any] | None) -> list[str]:
    if r is None:
        return []
    if "undetermined" in r:
        return [f"Tokens per parameter across data types: {_r(r['undetermined'])}."]
    return [
        f"At {flops(r['flops'])}, {code(r['more'])} wants {_r(r['ratio'])} times the tokens per "
        f"parameter of {code(r['less'])} (ratio of compute-optimal D/N)."
    ]


def rate_statement(rate: Any) -> str:
    kind, what = rate.measure.split(":", 1)
    ref, trt = code(rate.reference), code(rate.treatment)
    where = f"held-out {code(what)}" if kind == "loss" else f"the verified task {code(what)}"
    if rate.undetermined is not None:
        return f"Exchange rate {trt} vs {ref} on {where}: {_r(rate.undetermined)}."
    rows = []
    if kind == "loss":
        for p in rate.points:
            rows.append(
                f"at {flops(p.flops)}, {trt}'s compute-optimal loss {_r(p.treatment)} costs "
                f"{ref} data {_r(p.compute_multiplier)} times the compute; one {trt} token is "
                f"worth {_r(p.tokens_per_token)} {ref} tokens"
            )
    else:
        for p in rate.points:
            row = (
                f"at {flops(p.flops)}, {trt} scores {_pct(p.treatment)}, {ref} {_pct(p.reference)}"
            )
            if isinstance(p.compute_multiplier, Estimate):
                row += f" ({ref} needs {_r(p.compute_multiplier)} times the compute to match)"
            rows.append(row)
        unmatched = dict.fromkeys(  # ordered by budget: the text is the same in every process
            p.compute_multiplier.reason
            for p in rate.points
            if isinstance(p.compute_multiplier, Undetermined)
        )
        if unmatched:
            rows.append(
                "compute to match: " + "; ".join(f"not determined ({u})" for u in unmatched)
            )
    notes = (" " + " ".join(n[0].upper() + n[1:] + "." for n in rate.notes)) if rate.notes else ""
    return f"Exchange rate {trt} vs {ref} on {where}: " + "; ".join(rows) + "." + notes


def _pts(res: Any) -> str:
    """A difference of accuracies in percentage points with its interval."""
    if isinstance(res, Estimate):
        return f"{100 * res.value:+.1f} [{100 * res.lo:+.1f}, {100 * res.hi:+.1f}] points"
    return _r(res)


def process_clause(c: dict[str, Any]) -> str:
    """The process-vs-output result of one pair and task at its largest shared budget."""
    trc, out, task = code(c["trace"]), code(c["outputs"]), code(c["task"])
    if not c["points"]:
        return f"process vs output ({trc} vs {out}) on {task}: {_r(c['headline'])}"
    top = c["points"][-1]
    return (
        f"process vs output on the verified task {task} at {flops(top.flops)}: {trc} (the same "
        f"problems with their process) {_pct(top.trace)} vs {out} {_pct(top.outputs)}, "
        f"difference {_pts(top.difference)} (Newcombe)"
    )


def process_statement(c: dict[str, Any]) -> str:
    """Every budget of one process-vs-output comparison."""
    trc, out = code(c["trace"]), code(c["outputs"])
    rows = [
        f"at {flops(p.flops)}: {_pct(p.trace)} ({code(p.trace_model)}) vs {_pct(p.outputs)} "
        f"({code(p.outputs_model)}), {_pts(p.difference)}"
        + (f", {code(str(p.seeds) + ' seeds')} pooled" if p.seeds > 1 else "")
        for p in c["points"]
    ]
    body = "; ".join(rows) if rows else _r(c["headline"])
    return (
        f"Process vs output on {code(c['task'])} ({trc} minus {out}, best size per budget, "
        f"Wilson intervals, difference by Newcombe's method): {body}."
    )


def lever_statement(dt: str, entry: dict[str, Any]) -> str:
    if "undetermined" in entry:
        return f"{code(dt)}: compute versus data not priced: {_r(entry['undetermined'])}."
    lv = entry["levers"]
    verdict = {
        "data": "data binds (its gain per dollar is larger, interval above `1`)",
        "compute": "compute binds (the data/compute ratio's interval is below `1`)",
        "undetermined": "which input binds is not determined (the ratio's interval contains `1`)",
    }[lv.binds]
    return (
        f"{code(dt)} at {flops(lv.flops)} with {code(num(lv.unique_tokens) + ' unique tokens')}: "
        f"doubling compute (costs {code('$' + num(lv.compute_cost_dollars))}) lowers the loss by "
        f"{_r(lv.compute_gain)}; doubling the unique data (costs "
        f"{code('$' + num(lv.data_cost_dollars))}, {code(num(entry['seconds_per_token']))} "
        f"expert-s/token, {entry['seconds_source']}) lowers it by {_r(lv.data_gain)} "
        f"(-dL/dlog C = {_r(lv.d_loss_d_log_compute)}, -dL/dlog U = "
        f"{_r(lv.d_loss_d_log_unique)}); per dollar, data/compute = {_r(lv.ratio)}: {verdict}."
    )


def headline(v: dict[str, Any]) -> str:
    """One sentence: how many laws pass the gates, and what is determined."""
    types = v["data_types"]
    passed = [
        f"{code(dt)} {kind}"
        for dt, e in types.items()
        for kind, key in (("isoFLOP", "isoflop"), ("parametric", "parametric"))
        if e[key]["gate"].usable
    ]
    total = 2 * len(types)
    parts = [
        f"{code(str(len(passed)) + ' of ' + str(total))} laws pass the validity gates"
        + (f" ({', '.join(passed)})" if passed else "")
    ]
    parts += [process_clause(c) for c in v.get("process_vs_output", [])]
    for rate in v.get("exchange_rates", []):
        kind, what = rate.measure.split(":", 1)
        if kind != "task" or not rate.points or PROCESS_NOTE in getattr(rate, "notes", ()):
            continue
        top = rate.points[-1]
        t, r = top.treatment, top.reference
        if isinstance(t, Estimate) and isinstance(r, Estimate) and (t.lo > r.hi or r.lo > t.hi):
            better, worse = (
                (rate.treatment, rate.reference)
                if t.lo > r.hi
                else (rate.reference, rate.treatment)
            )
            parts.append(
                f"on the verified task {code(what)} at {flops(top.flops)}, {code(better)} beats "
                f"{code(worse)} ({_pct(t)} vs {_pct(r)}, Wilson intervals apart)"
            )
    binds = [
        f"{code(dt)}: {e['levers']['levers'].binds} binds (per dollar)"
        for dt, e in types.items()
        if "levers" in e["levers"] and e["levers"]["levers"].binds != "undetermined"
    ] + [
        f"{code(dt)}: {e['binds_at_budget']} binds (D_opt against its pool)"
        for dt, e in types.items()
        if e.get("binds_at_budget") not in (None, "undetermined")
    ]
    parts.append(
        "which input binds: " + ("; ".join(binds) if binds else "not determined for any data type")
    )
    return "Headline: " + "; ".join(parts) + "."


def statements(v: dict[str, Any]) -> list[str]:
    out = [headline(v)]
    out += [type_statement(dt, e) for dt, e in v["data_types"].items()]
    out += ratio_statement(v.get("tokens_per_param_ratio"))
    out += [process_statement(c) for c in v.get("process_vs_output", [])]
    out += [rate_statement(r) for r in v.get("exchange_rates", [])]
    out += [lever_statement(dt, e["levers"]) for dt, e in v["data_types"].items()]
    nf = v.get("noise_floor")
    if nf is not None:
        out.append(f"Seed-to-seed noise: {_r(nf)}.")
    return out


def caveats(v: dict[str, Any]) -> list[str]:
    conv = ", ".join(code(c) for c in v.get("flops_convention", [])) or "unrecorded"
    return [
        "Losses of different data types are on different held-out domains and are compared "
        "only through the exchange rates on a shared domain or task.",
        f"FLOPs are counted under {conv} as recorded by the runs; every closed form (N_opt, "
        "D_opt, data wall, compute to match) uses that convention.",
        f"Intervals are {PCT} bootstrap percentiles over runs (accuracies: Wilson); a value "
        "marked extrapolated lies outside the sampled range of compute.",
        f"Repetition allowance: {code(str(4) + ' epochs')} (Muennighoff et al. 2023, §5).",
    ]


def to_text(v: dict[str, Any]) -> str:
    return "Verdict\n" + "\n".join(f"- {s}" for s in v["statement"])


def _cell(entry: dict[str, Any], key: str) -> str:
    if not entry["gate"].usable:
        return "rejected"
    return _r(entry.get(key))


def to_markdown(v: dict[str, Any], summary: dict[str, Any]) -> str:
    budgets = ", ".join(code(num(b)) for b in summary.get("budgets", []))
    lines = [
        f"# Verdict: {code(summary.get('path', ''))}",
        "",
        f"{code(str(summary.get('runs')) + ' runs')}; data types "
        f"{', '.join(code(t) for t in summary.get('data_types', []))}; budgets {budgets} FLOPs "
        f"({', '.join(code(c) for c in summary.get('flops_convention', []))}).",
        "",
    ]
    lines += [f"- {s}" for s in v["statement"]]
    lines += [
        "",
        f"| data type | isoFLOP a ({PCT}) | parametric a ({PCT}) | tokens/param at the top "
        "budget | data wall (fresh) |",
        "|---|---|---|---|---|",
    ]
    for dt, e in v["data_types"].items():
        at = e["at_budget"]
        tpp = at.get("tokens_per_param")
        ratio = _r(tpp) if isinstance(tpp, Estimate) else "not determined"
        wall = e.get("data_wall")
        fresh = wall["fresh"] if wall else None
        wall_s = (
            _r(fresh)
            if isinstance(fresh, Estimate)
            else ("not determined" if wall else "no pool recorded")
        )
        lines.append(
            f"| {code(dt)} | {_cell(e['isoflop'], 'a')} | {_cell(e['parametric'], 'a')} | "
            f"{ratio} | {wall_s} |"
        )
    lines += ["", "Caveats:"] + [f"- {c}" for c in v["caveats"]]
    return "\n".join(lines) + "\n"
