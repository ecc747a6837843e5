"""A finished run's record (result.json): identity, shape, budget, measurements, provenance; and its
flat one-row view for tables and trackers. No torch.
"""

from __future__ import annotations

import contextlib
import platform
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scaling.core.config import RunConfig
from scaling.runs import layout


def git_commit() -> str | None:
    """HEAD of the repository the package is imported from, with '+dirty' if modified."""
    root = Path(__file__).resolve().parents[1]
    try:
        sha = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def _requirement_names(dist: str) -> list[str]:
    """Names of ``dist``'s unconditional requirements (its declared dependencies)."""
    import importlib.metadata as md
    import re

    try:
        reqs = md.requires(dist) or []
    except md.PackageNotFoundError:
        return []
    names = []
    for req in reqs:
        if "extra ==" in req:
            continue
        m = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", req)
        if m:
            names.append(m.group(0))
    return names


def docs_packages(run: RunConfig) -> list[str]:
    """The installed packages whose documentation the run's sources mine (``installed_docs``):
    their versions decide the web text, so they are recorded with the corpus's content hash."""
    sources = [*run.data.mixture.values(), *run.eval.domains.values()]
    names = {p for s in sources if s.kind == "installed_docs" for p in s.packages}
    return sorted(names - {"stdlib"})


def package_versions(extra: Sequence[str] = ()) -> dict[str, str]:
    """Python's version and the installed version of scaling-lab, of every dependency it
    declares (anything that can change a result: torch's kernels, numpy, the tokenizers, the
    fitting stack) and of ``extra`` (the packages a docs corpus is mined from)."""
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for name in ["scaling-lab", *_requirement_names("scaling-lab"), *extra]:
        with contextlib.suppress(md.PackageNotFoundError):
            out[name] = md.version(name)
    return out


def labels(run: RunConfig) -> dict[str, Any]:
    """The columns that identify a run in tables, also for runs that never finished."""
    return {
        "sweep": run.name,
        "data_type": run.data.name,
        "model": run.model.name,
        "budget_flops": run.budget.flops,
        "seed": run.seed,
    }


def pool_tokens(sources: dict[str, Any]) -> float | None:
    """Unique training tokens the data type could draw on (None when a source is unbounded)."""
    pools = [s.get("pool_tokens") for s in sources.values()]
    return None if not pools or None in pools else float(sum(pools))


def total_data_cost(sources: dict[str, Any]) -> dict[str, float]:
    """Expert and machine seconds of the unique data a run consumed, over all its sources, per
    kept trace and per token; interventions per 1,000 steps averaged over sources weighted by
    their kept traces (each source's own rates stay in ``data_sources``)."""
    costs = [s["data_cost"] for s in sources.values() if "data_cost" in s]
    if not costs:
        return {}
    expert = sum(c["expert_seconds"] for c in costs)
    tokens = sum(c["tokens"] for c in costs)
    traces = sum(c["traces"] for c in costs)
    nan = float("nan")
    return {
        "expert_seconds": expert,
        "machine_seconds": sum(c["machine_seconds"] for c in costs),
        "traces": traces,
        "tokens": tokens,
        "expert_seconds_per_token": expert / tokens if tokens else nan,
        "expert_seconds_per_kept_trace": expert / traces if traces else nan,
        "interventions_per_1000_steps": (
            sum(c["interventions_per_1000_steps"] * c["traces"] for c in costs) / traces
            if traces
            else nan
        ),
    }


def _spec(src: dict[str, Any]) -> dict[str, Any]:
    """An eval source's fields without ``score`` when unset (older records' hashes hold)."""
    return {k: v for k, v in src.items() if not (k == "score" and v is None)}


def eval_specs(run: RunConfig) -> dict[str, str]:
    """A short hash of each eval domain's source: runs share a held-out domain only when these
    agree (a domain rendered per data type, as in experiment=arithmetic_formats, is not shared)."""
    import dataclasses
    import hashlib
    import json

    return {
        name: hashlib.sha256(
            json.dumps(_spec(dataclasses.asdict(src)), sort_keys=True, default=str).encode()
        ).hexdigest()[:12]
        for name, src in run.eval.domains.items()
    }


def build_record(run: RunConfig, rid: str, res: Any) -> dict[str, Any]:
    """The result.json record: identity, shape, budget, measurements, provenance."""
    conv = run.budget.convention
    m = run.model
    own = run.data.eval_domain
    data_cost = total_data_cost(res.data_sources)
    return {
        "schema": layout.SCHEMA_VERSION,
        "status": "done",
        "run_id": rid,
        **labels(run),
        "n_layer": m.n_layer,
        "d_model": m.d_model,
        "n_head": m.n_head,
        "d_ff": m.d_ff,
        "context": m.context,
        "tie_embeddings": m.tie_embeddings,
        "vocab_size": res.tokenizer["vocab_size"],
        "flops_convention": conv,
        "flops": res.flops_by_convention[conv],
        "params": res.params[conv],
        "tokens": res.tokens,
        "tokens_supervised": res.tokens_supervised,
        "tokens_per_param": res.tokens / res.params[conv],
        "steps": res.steps,
        "batch_size": run.optim.batch_size,
        "peak_lr": res.plan["peak_lr"],
        "budget_relative_error": res.plan["relative_error"],
        "unique_tokens": res.unique_tokens,
        "epochs": res.epochs,
        "pool_tokens": pool_tokens(res.data_sources),
        "train_loss": res.train_loss,
        "loss_domain": own,
        "loss": res.final_eval[own]["loss"] if own in res.final_eval else None,
        "bpb": res.final_eval[own]["bpb"] if own in res.final_eval else None,
        "val": res.final_eval,
        "eval_specs": eval_specs(run),
        "task": res.task,
        "flops_by_convention": res.flops_by_convention,
        "params_by_convention": res.params,
        "params_by_group": res.params_by_group,
        "data_cost": data_cost,
        "wall_seconds": res.wall_seconds,
        "train_seconds": res.train_seconds,
        "eval_seconds": res.eval_seconds,
        "task_seconds": res.task_seconds,
        "tokens_per_second": res.tokens_per_second,
        "flops_per_second": res.flops_by_convention[conv] / max(res.train_seconds, 1e-9),
        "threads": run.runtime.threads,
        "device": run.runtime.device,
        "precision": run.runtime.precision,
        "data_sources": res.data_sources,
        "tokenizer": res.tokenizer,
        "git_commit": git_commit(),
        "versions": package_versions(docs_packages(run)),
        "host": socket.gethostname(),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "config": run.to_dict(),
    }


def objective_value(record: dict[str, Any] | None, name: str) -> float:
    """The run's objective for a Hydra sweeper (``runtime.objective``, a tidy-row column); NaN for
    a run without a result (refused or failed) or without that column, which Optuna records as
    a failed trial instead of stopping the search."""
    if not record:
        return float("nan")
    value = flatten_result(record).get(name)
    return float(value) if isinstance(value, int | float) else float("nan")


def data_rendering(data: dict[str, Any] | None) -> tuple[str | None, str | None]:
    """(form, problems) of a data config dict: ``form`` is ``trace`` or ``outputs_only`` when
    every source is a generator rendered that way (else None); ``problems`` hashes the mixture
    without the forms and source names, so a trace arm and its outputs-only twin (the same
    generators, parameters, weights and corrections) share it: the process-vs-output pair."""
    import hashlib
    import json

    mixture = (data or {}).get("mixture") or {}
    srcs = list(mixture.values())
    if not srcs or any(not isinstance(s, dict) or s.get("kind") != "generator" for s in srcs):
        return None, None
    forms = {s.get("form", "trace") for s in srcs}
    if len(forms) != 1:
        return None, None
    total = sum(float(s.get("weight", 1.0)) for s in srcs) or 1.0
    bare = sorted(
        json.dumps(
            {
                **{k: v for k, v in s.items() if k not in ("form", "weight")},
                "share": round(float(s.get("weight", 1.0)) / total, 12),
            },
            sort_keys=True,
            default=str,
        )
        for s in srcs
    )
    key = json.dumps([bare, (data or {}).get("unique_tokens")], default=str)
    return forms.pop(), hashlib.sha256(key.encode()).hexdigest()[:12]


def flatten_result(rec: dict[str, Any]) -> dict[str, Any]:
    """One tidy row: scalars kept, per-domain/per-convention dicts spread into columns."""
    row = {k: v for k, v in rec.items() if not isinstance(v, dict | list)}
    form, problems = data_rendering((rec.get("config") or {}).get("data"))
    if form is not None:
        row["data_form"], row["data_problems"] = form, problems
    for domain, m in rec.get("val", {}).items():
        row[f"val_{domain}_loss"] = m.get("loss")
        row[f"val_{domain}_bpb"] = m.get("bpb")
    for task, m in rec.get("task", {}).items():
        row[f"acc_{task}"] = m.get("accuracy")
        row[f"task_n_{task}"] = m.get("n")  # problems scored: the binomial n of the accuracy
        for split in ("heldout_split", "train_split"):  # tasks scored on a published test file
            if f"accuracy_{split}" in m:
                row[f"{split}_acc_{task}"] = m[f"accuracy_{split}"]
    for domain, spec in rec.get("eval_specs", {}).items():
        row[f"evalspec_{domain}"] = spec
    sources = rec.get("data_sources") or {}
    if sources and all("pool_documents" in s for s in sources.values()):
        row["train_documents"] = sum(s["pool_documents"] for s in sources.values())
    for conv, v in rec.get("flops_by_convention", {}).items():
        row[f"flops_{conv}"] = v
    for conv, v in rec.get("params_by_convention", {}).items():
        row[f"params_{conv}"] = v
    for group, v in rec.get("params_by_group", {}).items():
        row[f"params_group_{group}"] = v
    for k, v in rec.get("data_cost", {}).items():
        row[f"data_cost_{k}"] = v
    return row
