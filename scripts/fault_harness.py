"""Fault injection (issue 14): kill a tiny sweep at each instrumented point, relaunch it, check it.

For every case the sweep (2 sizes x 2 data types, debug=toy: 4 runs of a few seconds, trained
in this process's launcher, one worker and one thread, so the kill reaches the process that
trains) is launched with ``SCALING_FAULT`` naming a kill point (``scaling.core.faults``), which
SIGKILLs it when the point is reached; then it is relaunched without. The checks, against a
reference sweep trained once without a kill:

- after the kill, no file reads as complete that is not (every result.json parses and has its
  weights; every checkpoint.pt and token-cache generation is whole);
- after the relaunch, every grid point has exactly one complete result (``lost``), no run is
  counted twice (a step logged twice in metrics.jsonl, a run listed twice in runs.csv, a run
  directory that is not a grid point: ``duplicated``), no ``.tmp`` is left;
- every run's metrics.jsonl losses (training and held-out, step by step) equal the
  reference's exactly, and so do its final weights (``curves_differing``,
  ``weights_differing``).

``stale`` lists what is harmless but untidy: a done run whose status.json still says running
or whose dead holder's lock is still there (a kill between result.json and the end of the
runner's publication; ``runs.state`` reads the result first, so the run counts as done).

A point that is never reached (the sweep exits 0) is reported as not reached. A case may chain
kills (``a@2+b``: killed at a, relaunched and killed at b, then relaunched); ``:TERM`` sends
SIGTERM instead, which must checkpoint and exit 1 ("preempted"). Cases run in the packed
engine (``runtime.pack=8``, what sweeps use) or solo (``runtime.pack=1``) against the
reference of the same engine; token-cache cases start from a cache without its token shards,
end-of-sweep cases run the analysis callback.

    .venv/bin/python scripts/fault_harness.py                       # every case (~10 min)
    .venv/bin/python scripts/fault_harness.py --points checkpoint.tmp_written@3,pack.step.end@20
    .venv/bin/python scripts/fault_harness.py --out faults.json --work /tmp/faults
    .venv/bin/python scripts/fault_harness.py --models xxxs --points ...   # a 2-run sweep

Prints (and with ``--out`` writes) one JSON object: points tried and reached, runs checked,
lost, duplicated, curves and weights differing, and each case's launches and problems.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TRAIN = Path(sys.executable).parent / "scaling-train"
MODELS = "xxxs,xxs"  # --models: the sweep's sizes (tests use xxxs alone: 2 runs)
SWEEP = [
    "-m",
    "debug=toy",
    "data=smoke_web,smoke_frontier",
    "budget.flops=2e8",
    "optim.batch_size=4",
    "hydra/launcher=parallel",
    "hydra.launcher.n_jobs=1",  # the launcher trains: a kill reaches the process that trains
    "runtime.threads=1",
    "runtime.progress=none",
    "name=faults",
]
PACK = {"packed": "runtime.pack=8", "solo": "runtime.pack=1"}
LAUNCH_TIMEOUT = 600


@dataclass
class Case:
    """Kills (``SCALING_FAULT`` values, one launch each) before the clean relaunch."""

    kills: list[str]
    mode: str = "packed"  # packed | solo: the engine (and the reference) of the sweep
    analysis: bool = False  # the end-of-sweep callback (fits, figures, report)
    cold_tokens: bool = False  # start from a data cache without its token shards

    @property
    def name(self) -> str:
        return "+".join(self.kills) + ("" if self.mode == "packed" else " [solo]")


# Hit counts chosen on this sweep. Packed: the xxxs pack first (34 steps, evaluations and
# checkpoints after steps 11 and 23, both runs each time), then the xxs pack (14 steps: 5, 9).
# Solo: the two xxxs runs, then the two xxs runs, one after the other.
CASES = [
    Case(["io.atomic_write.tmp_written@5"]),
    Case(["io.atomic_write.renamed@7"]),
    Case(["io.append_jsonl.half_line@31"]),
    Case(["hooks.checkpoint.before_save@3"]),
    Case(["checkpoint.tmp_written@3"]),
    Case(["checkpoint.renamed@3"]),
    Case(["hooks.status.written@4"]),
    Case(["hooks.metrics.train_appended@30"]),
    Case(["hooks.metrics.eval_appended@3"]),
    Case(["pack.step.end@20"]),
    Case(["pack.step.end@15", "pack.step.end@15"]),
    Case(["pack.finishing_checkpointed@1"]),
    Case(["pack.member.finished@1"]),
    Case(["pack.member.published@1"]),
    Case(["runner.claim.config_written@3"]),
    Case(["weights.safetensors_written@1"]),
    Case(["runner.publish.weights_saved@1"]),
    Case(["runner.publish.result_written@1"]),
    Case(["runner.publish.status_done@3"]),
    Case(["runner.publish.checkpoint_removed@2"]),
    Case(["launcher.pack.start@2"]),
    Case(["train.step.backward_done@20"], mode="solo"),
    Case(["train.step.end@50"], mode="solo"),
    Case(["train.evaluate@2"], mode="solo"),
    Case(["train.tasks@1"], mode="solo"),
    Case(["checkpoint.tmp_written@2"], mode="solo"),
    Case(["runner.publish.result_written@1"], mode="solo"),
    Case(["train.step.end@20:TERM"], mode="solo"),
    Case(["pack.step.end@20:TERM"]),
    Case(["token_cache.shard_written@1"], cold_tokens=True),
    Case(["token_cache.shard_renamed@2"], cold_tokens=True),
    Case(["token_cache.pointer_written@3"], cold_tokens=True),
    Case(["sweep.tables_exported@1"], analysis=True),
    Case(["sweep.fits_written@1"], analysis=True),
    Case(["sweep.report_written@1"], analysis=True),
]


def case_for(spec: str) -> Case:
    """The listed case for ``spec`` (a point, ``point@n``, or ``a@n+b@m``), else a new one."""
    for case in CASES:
        if spec in (case.name, "+".join(case.kills)):
            return case
    kills = spec.split("+")
    listed = [c for c in CASES if c.kills[0].split("@")[0] == kills[0].split("@")[0]]
    base = listed[0] if listed else Case(kills)
    if "@" not in spec and listed:
        return base
    return Case(kills, mode=base.mode, analysis=base.analysis, cold_tokens=base.cold_tokens)


# ---- launching ---------------------------------------------------------------------------------


def launch(
    out: Path,
    cache: Path,
    case: Case,
    fault: str | None,
    models: str = MODELS,
    **popen: Any,
) -> subprocess.CompletedProcess:
    """One launch of the sweep into ``out`` (``popen``: more ``subprocess.run`` arguments)."""
    args = [str(TRAIN), *SWEEP, f"model={models}", PACK[case.mode], f"runtime.out_dir={out}"]
    if not case.analysis:
        args.append("~hydra.callbacks.analyze")  # (hydra.callbacks={} merges: it keeps it)
    env = {**os.environ, "WANDB_MODE": "disabled", "SCALING_CACHE_DIR": str(cache)}
    env.pop("SCALING_FAULT", None)
    if fault:
        env["SCALING_FAULT"] = fault
    return subprocess.run(
        args, cwd=REPO, env=env, capture_output=True, text=True, timeout=LAUNCH_TIMEOUT, **popen
    )


def expected_exit(fault: str) -> tuple[int, str]:
    """The exit status a reached ``fault`` gives, and a word for it."""
    if fault.upper().endswith(":TERM"):
        return 1, "preempted"
    return -signal.SIGKILL, "killed"


# ---- reading a sweep ---------------------------------------------------------------------------


def run_dirs(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if p.is_dir() and (p / "config.yaml").exists())


def losses(run_dir: Path) -> list[tuple[str, int, dict[str, float]]]:
    """Every metrics.jsonl record's kind, step and losses (training and held-out)."""
    out = []
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        rec = json.loads(line)  # a torn line left behind is a failure here
        keep = {k: v for k, v in rec.items() if k == "loss" or k.endswith("/loss")}
        out.append((rec["kind"], rec["step"], keep))
    return out


def weights_digest(path: Path) -> str:
    """sha256 of the tensors of a model.safetensors, by name (its header's metadata is written
    in no fixed order, so the file's bytes vary between identical models)."""
    from safetensors.numpy import load_file

    h = hashlib.sha256()
    for name, array in sorted(load_file(path).items()):
        h.update(f"{name}:{array.dtype}:{array.shape}".encode())
        h.update(array.tobytes())
    return h.hexdigest()


def snapshot(out: Path) -> dict[str, dict[str, Any]]:
    """Per run id: its losses, final loss and weights digest (the reference)."""
    snap = {}
    for d in run_dirs(out):
        result = json.loads((d / "result.json").read_text())
        snap[d.name] = {
            "losses": losses(d),
            "loss": result["loss"],
            "weights": weights_digest(d / "model.safetensors"),
            "grid": grid_point(result),
        }
    return snap


def grid_point(result: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(result.get(k) for k in ("data_type", "model", "budget_flops", "seed"))


def temporaries(*roots: Path) -> list[str]:
    return [str(p) for root in roots if root.exists() for p in root.rglob(".*.tmp")]


# ---- checks ------------------------------------------------------------------------------------


def partial_after_kill(out: Path, cache: Path) -> list[str]:
    """Files a reader would take as complete that are not: a result.json that does not parse
    or has no (or short) weights, a checkpoint that is not a whole zip, a cache pointer naming
    a generation that is missing or incomplete."""
    bad = []
    for d in run_dirs(out) if out.exists() else []:
        res = d / "result.json"
        if res.exists():
            try:
                rec = json.loads(res.read_text())
                size = (d / "model.safetensors").stat().st_size
                if size != rec["weights"]["bytes"]:
                    bad.append(f"{d / 'model.safetensors'}: {size} bytes, result says more")
            except (OSError, ValueError, KeyError) as exc:
                bad.append(f"{res}: {type(exc).__name__}: {exc}")
        ckpt = d / "checkpoint.pt"
        if ckpt.exists() and not whole_zip(ckpt):
            bad.append(f"{ckpt}: not a whole checkpoint")
    bad += partial_cache(cache)
    return bad


def whole_zip(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as z:
            return z.testzip() is None
    except (OSError, zipfile.BadZipFile):
        return False


def partial_cache(cache: Path) -> list[str]:
    bad = []
    for pointer in (cache / "tokens").glob("*/current"):
        gen = pointer.parent / pointer.read_text().strip()
        need = ["meta.json", *(f"{a}.npy" for a in ("tokens", "roles", "offsets", "nbytes"))]
        missing = [n for n in need if not (gen / n).is_file()]
        try:
            json.loads((gen / "meta.json").read_text())
        except (OSError, ValueError):
            missing.append("meta.json (unreadable)")
        if missing:
            bad.append(f"{pointer}: names {gen.name}, which lacks {', '.join(missing)}")
    return bad


def check_sweep(out: Path, ref: dict[str, dict[str, Any]], analysis: bool) -> dict[str, Any]:
    """The relaunched sweep against the reference (module docstring)."""
    found = {d.name: d for d in run_dirs(out)}
    lost, duplicated, differing, weights, problems, stale = [], [], [], [], [], []
    for rid, want in ref.items():
        d = found.get(rid)
        try:
            result = json.loads((d / "result.json").read_text()) if d else None
        except (OSError, ValueError):
            result = None
        if result is None:
            lost.append(rid)
            continue
        try:
            got = losses(d)
        except (OSError, ValueError, KeyError) as exc:
            problems.append(f"{rid}: metrics.jsonl unreadable ({exc})")
            differing.append(rid)
            continue
        keys = [(kind, step) for kind, step, _ in got]
        if len(keys) != len(set(keys)):
            duplicated.append(rid)
        if got != want["losses"] or result["loss"] != want["loss"]:
            differing.append(rid)
        if weights_digest(d / "model.safetensors") != want["weights"]:
            weights.append(rid)
        problems += leftovers(d)
        stale += stale_records(d)
    extra = sorted(set(found) - set(ref))
    duplicated += extra
    if analysis:
        problems += check_analysis(out, ref, duplicated)
    problems += [f"left behind: {p}" for p in temporaries(out)]
    return {
        "runs": len(ref),
        "lost": lost,
        "duplicated": duplicated,
        "curves_differing": differing,
        "weights_differing": weights,
        "problems": problems,
        "stale": stale,
        "resumed": sorted(
            rid
            for rid, d in found.items()
            if (json.loads((d / "result.json").read_text()).get("resumed_from_step"))
        )
        if not lost
        else [],
    }


def leftovers(d: Path) -> list[str]:
    """What a done run must not hold any more: its checkpoint (the runner removes it)."""
    return [f"{d.name}: checkpoint.pt left"] if (d / "checkpoint.pt").exists() else []


def stale_records(d: Path) -> list[str]:
    """Harmless leftovers of a kill after result.json (``runs.state`` reads the result first,
    so the run is done): a dead holder's lock, a status.json that still says running."""
    out = [f"{d.name}: lock of a dead holder left"] if (d / "lock").exists() else []
    status = json.loads((d / "status.json").read_text())
    if status.get("state") != "done":
        out.append(f"{d.name}: status.json says {status.get('state')}")
    return out


def check_analysis(out: Path, ref: dict[str, Any], duplicated: list[str]) -> list[str]:
    """The end-of-sweep outputs exist and parse; runs.csv lists each run once."""
    problems = []
    for name in ("fits.json", "verdict.json"):
        try:
            json.loads((out / name).read_text())
        except (OSError, ValueError) as exc:
            problems.append(f"{name}: {exc}")
    if not (out / "report.md").is_file():
        problems.append("report.md missing")
    try:
        import csv

        with open(out / "runs.csv") as fh:
            ids = [row["run_id"] for row in csv.DictReader(fh)]
        duplicated += sorted({i for i in ids if ids.count(i) > 1})
        if set(ids) != set(ref):
            problems.append(f"runs.csv lists {sorted(ids)}")
    except (OSError, KeyError) as exc:
        problems.append(f"runs.csv: {exc}")
    return problems


# ---- one case ----------------------------------------------------------------------------------


def cold_cache(shared: Path, dest: Path) -> Path:
    """A copy of the shared data cache without its token shards (mined documents kept)."""
    shutil.copytree(shared, dest, ignore=lambda d, names: ["tokens"] if Path(d) == shared else [])
    return dest


def run_case(
    case: Case, work: Path, shared_cache: Path, refs: dict[str, Any], models: str = MODELS
) -> dict[str, Any]:
    slug = case.name.replace(" ", "_").replace("[", "").replace("]", "").replace("+", "__")
    out = work / "cases" / slug
    cache = cold_cache(shared_cache, work / "caches" / slug) if case.cold_tokens else shared_cache
    row: dict[str, Any] = {"case": case.name, "mode": case.mode, "launches": []}
    reached, row["partial_after_kill"] = True, []
    for fault in case.kills:
        proc = launch(out, cache, case, fault, models)
        want, word = expected_exit(fault)
        row["launches"].append({"fault": fault, "returncode": proc.returncode})
        if proc.returncode == 0:
            reached = False
            break
        if proc.returncode != want or (word == "preempted" and "preempted" not in proc.stderr):
            row["error"] = f"{fault}: exited {proc.returncode}, not {word}: {proc.stderr[-1500:]}"
            return row
        row["partial_after_kill"] += partial_after_kill(out, cache)
    row["reached"] = reached
    proc = launch(out, cache, case, None, models)
    row["launches"].append({"fault": None, "returncode": proc.returncode})
    if proc.returncode != 0:
        row["error"] = f"relaunch exited {proc.returncode}: {proc.stderr[-1500:]}"
        return row
    row |= check_sweep(out, refs[case.mode], case.analysis)
    row["problems"] += [f"left behind: {p}" for p in temporaries(cache)]
    return row


def references(work: Path, cache: Path, modes: set[str], models: str = MODELS) -> dict[str, Any]:
    """Each engine's uninterrupted sweep (the packed one with the analysis callback)."""
    refs = {}
    for mode in sorted(modes):
        out = work / f"reference-{mode}"
        proc = launch(out, cache, Case([], mode=mode, analysis=mode == "packed"), None, models)
        if proc.returncode != 0:
            raise SystemExit(f"reference sweep ({mode}) failed: {proc.stderr[-3000:]}")
        refs[mode] = snapshot(out)
    return refs


def summarize(rows: list[dict[str, Any]], wall: float) -> dict[str, Any]:
    def count(key: str) -> int:
        return sum(len(r.get(key, [])) for r in rows)

    return {
        "points_tried": len(rows),
        "reached": sum(1 for r in rows if r.get("reached")),
        "not_reached": [r["case"] for r in rows if r.get("reached") is False],
        "errors": [r["case"] for r in rows if "error" in r],
        "runs_checked": sum(r.get("runs", 0) for r in rows),
        "runs_resumed": count("resumed"),
        "lost": count("lost"),
        "duplicated": count("duplicated"),
        "curves_differing": count("curves_differing"),
        "weights_differing": count("weights_differing"),
        "partial_after_kill": count("partial_after_kill"),
        "problems": count("problems"),
        "stale": count("stale"),
        "wall_seconds": round(wall, 1),
        "cases": rows,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--points", help="comma-separated cases (point, point@n, a@n+b@m); all")
    ap.add_argument("--out", help="also write the JSON here")
    ap.add_argument("--work", help="working directory (kept); default: a temporary one")
    ap.add_argument("--models", default=MODELS, help=f"the sweep's sizes (default {MODELS})")
    args = ap.parse_args(argv)
    cases = [case_for(s.strip()) for s in args.points.split(",")] if args.points else CASES
    t0 = time.perf_counter()
    work = Path(args.work or tempfile.mkdtemp(prefix="fault-harness-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        cache = work / "cache"
        refs = references(work, cache, {c.mode for c in cases}, args.models)
        rows = []
        for case in cases:
            rows.append(run_case(case, work, cache, refs, args.models))
            print(f"{case.name}: {brief(rows[-1])}", file=sys.stderr)
        report = summarize(rows, time.perf_counter() - t0)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    text = json.dumps(report, indent=1)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)
    clean = not any(report[k] for k in ("errors", "lost", "duplicated", "curves_differing"))
    return 0 if clean and not report["weights_differing"] and not report["problems"] else 1


def brief(row: dict[str, Any]) -> str:
    if "error" in row:
        return "ERROR " + row["error"].splitlines()[0]
    if not row.get("reached"):
        return "not reached"
    keys = ("lost", "duplicated", "curves_differing", "weights_differing", "problems")
    bad = {k: row[k] for k in keys if row.get(k)} | (
        {"partial_after_kill": row["partial_after_kill"]} if row["partial_after_kill"] else {}
    )
    stale = f", stale: {row['stale']}" if row.get("stale") else ""
    return f"ok (resumed {len(row['resumed'])}{stale})" if not bad else f"FAILED {bad}"


if __name__ == "__main__":
    sys.exit(main())
