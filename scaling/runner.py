"""Run one config into its run directory: the record, status, progress and the mirror.

``execute(run)`` is what every launcher job calls (through ``scaling.cli.train``). It skips a
finished run, writes ``config.yaml``, streams ``metrics.jsonl``, keeps ``status.json`` current
(state, step, ETA, host, pid) and writes ``result.json`` atomically at the end. A diverged or
crashed run is marked failed with its reason and the sweep goes on.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import socket
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import yaml

from scaling import results, sweep
from scaling.config import RunConfig
from scaling.errors import UserError


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


def package_versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for name in ("scaling-lab", "torch", "numpy", "hydra-core", "datasets", "tokenizers"):
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


def eval_specs(run: RunConfig) -> dict[str, str]:
    """A short hash of each eval domain's source: runs share a held-out domain only when these
    agree (a domain rendered per data type, as in experiment=arithmetic_formats, is not shared)."""
    import dataclasses
    import hashlib
    import json

    return {
        name: hashlib.sha256(
            json.dumps(dataclasses.asdict(src), sort_keys=True, default=str).encode()
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
        "schema": results.SCHEMA_VERSION,
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
        "tokens_per_second": res.tokens_per_second,
        "flops_per_second": res.flops_by_convention[conv] / max(res.train_seconds, 1e-9),
        "threads": run.runtime.threads,
        "device": run.runtime.device,
        "data_sources": res.data_sources,
        "tokenizer": res.tokenizer,
        "git_commit": git_commit(),
        "versions": package_versions(),
        "host": socket.gethostname(),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "config": run.to_dict(),
    }


class Progress:
    """A tqdm bar on a terminal; periodic one-line logs otherwise (``runtime.progress``)."""

    def __init__(self, rid: str, mode: str, steps: int, start: int) -> None:
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "log"
        self.mode, self.rid, self.steps = mode, rid, steps
        self.bar = None
        self.t0, self.step0, self.last_log = time.perf_counter(), start, 0.0
        if mode == "bar":
            from tqdm.auto import tqdm

            self.bar = tqdm(
                total=steps,
                initial=start,
                desc=rid[:40],
                unit="step",
                dynamic_ncols=True,
                leave=False,
            )

    def eta_seconds(self, step: int) -> float | None:
        done = step - self.step0
        if done <= 0:
            return None
        return (time.perf_counter() - self.t0) / done * (self.steps - step)

    def update(self, rec: dict[str, Any]) -> None:
        if self.bar is not None:
            self.bar.n = rec["step"]
            self.bar.set_postfix(
                loss=f"{rec['loss']:.3f}", tok_s=f"{rec['tokens_per_second']:.0f}", refresh=False
            )
            self.bar.refresh()
        elif self.mode == "log" and time.perf_counter() - self.last_log > 30:
            self.last_log = time.perf_counter()
            eta = self.eta_seconds(rec["step"])
            print(
                f"[{self.rid}] step {rec['step']}/{self.steps} loss {rec['loss']:.3f} "
                f"{rec['tokens_per_second']:.0f} tok/s eta {eta or 0:.0f}s",
                file=sys.stderr,
                flush=True,
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


CHECKPOINT = "checkpoint.pt"


class RecordHooks:
    """Writes metrics.jsonl, status.json and checkpoints as the run goes; mirrors to the logger.

    Checkpoints are written atomically every ``runtime.checkpoint_minutes`` and after every
    periodic evaluation, so a killed run resumes from its last one.
    """

    def __init__(self, run: RunConfig, rid: str, run_dir: Path, mirror: Any, lock: Any) -> None:
        self.run, self.rid, self.dir, self.mirror, self.lock = run, rid, run_dir, mirror, lock
        self.progress: Progress | None = None
        self.last_status = 0.0
        self.last_checkpoint = time.perf_counter()
        self.steps = 0
        self.checkpoint_seconds = 0.0
        self.checkpoints = 0

    def status(self, state: str, **extra: Any) -> None:
        st = {
            "state": state,
            "run_id": self.rid,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "updated": time.time(),
            "labels": labels(self.run),
            **extra,
        }
        results.atomic_write_json(self.dir / results.STATUS, st)
        self.lock.refresh()

    def checkpoint(self, trainer: Any) -> None:
        from scaling.train import save_checkpoint

        t0 = time.perf_counter()
        save_checkpoint(trainer, self.dir / CHECKPOINT)
        self.last_checkpoint = time.perf_counter()
        self.checkpoint_seconds += self.last_checkpoint - t0
        self.checkpoints += 1

    def on_start(self, info: dict[str, Any]) -> None:
        self.steps = info["steps"]
        self.progress = Progress(
            self.rid, self.run.runtime.progress, info["steps"], info["resumed_at"]
        )
        self.status("running", step=info["resumed_at"], steps=info["steps"], started=time.time())

    def on_step(self, rec: dict[str, Any]) -> None:
        results.append_jsonl(self.dir / results.METRICS, {"kind": "train", **rec})
        self.mirror.log(rec, rec["step"])
        if self.progress:
            self.progress.update(rec)
        if time.perf_counter() - self.last_status > 10:
            self.last_status = time.perf_counter()
            eta = self.progress.eta_seconds(rec["step"]) if self.progress else None
            self.status("running", step=rec["step"], steps=self.steps, eta_seconds=eta)

    def on_eval(self, rec: dict[str, Any], trainer: Any) -> None:
        results.append_jsonl(self.dir / results.METRICS, {"kind": "eval", **rec})
        self.mirror.log(rec, rec["step"])
        if not rec.get("final"):
            self.checkpoint(trainer)

    def maybe_checkpoint(self, trainer: Any) -> None:
        minutes = self.run.runtime.checkpoint_minutes
        if minutes > 0 and time.perf_counter() - self.last_checkpoint > 60 * minutes:
            self.checkpoint(trainer)

    def close(self) -> None:
        if self.progress:
            self.progress.close()


class NullMirror:
    def log(self, rec: dict[str, Any], step: int) -> None: ...
    def summary(self, rec: dict[str, Any]) -> None: ...
    def finish(self, exit_code: int = 0) -> None: ...


def make_mirror(run: RunConfig, rid: str, run_dir: Path) -> Any:
    if run.logger.kind == "wandb":
        from scaling.tracking import WandbMirror

        return WandbMirror(run, rid, run_dir)
    return NullMirror()


def _truncate_metrics(path: Path, step: int) -> None:
    """Keep the records up to the checkpoint's step: a resumed run re-logs what came after."""
    if not path.exists():
        return
    keep = []
    with open(path) as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:  # a line cut short by the kill
                break
            if rec.get("step", 0) <= step:
                keep.append(json.dumps(rec) + "\n")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text("".join(keep))
    os.replace(tmp, path)


def remove_stale_temporaries(run_dir: Path) -> list[Path]:
    """Delete half-written ``.<name>.<pid>.tmp`` files of atomic writes a killed holder left
    behind (only called with the run's lock held, so no live writer owns them)."""
    stale = sorted(run_dir.glob(".*.tmp"))
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def execute(run: RunConfig) -> dict[str, Any] | None:
    """Train ``run`` into ``<runtime.out_dir>/<run_id>`` unless it is done or held elsewhere.

    Resumes from ``checkpoint.pt`` when an earlier attempt was interrupted. Returns the result
    record, or None when the run failed (status.json says why), another process holds it, or
    the grid window skips it (nothing is written).
    Config errors (UserError) propagate before anything is written: the CLI prints one line.
    """
    from scaling.lock import RunLock

    rid = sweep.run_id(run.to_dict())
    run_dir = Path(run.runtime.out_dir) / rid
    state = sweep.run_state(run_dir)
    if state == "done":
        print(f"[{rid}] done already, skipped", file=sys.stderr)
        return results.read_json(run_dir / results.RESULT)
    if state == "failed" and not run.runtime.rerun_failed:
        print(f"[{rid}] failed before, skipped (rerun with +rerun_failed=true)", file=sys.stderr)
        return None
    from scaling import budget

    outside = budget.outside_window(run, budget.planned_vocab(run))
    if outside:
        print(f"[{rid}] outside the grid window ({outside}), skipped", file=sys.stderr)
        return None
    from scaling.train import Trainer  # torch is imported only to train

    trainer = Trainer(run)  # validates the budget before anything is written
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = RunLock(run_dir)
    if not lock.acquire():
        h = lock.holder or {}
        print(f"[{rid}] held by {h.get('host')}:{h.get('pid')}, skipped", file=sys.stderr)
        return None
    try:
        if sweep.run_state(run_dir) == "done":  # finished while we were starting
            print(f"[{rid}] done already, skipped", file=sys.stderr)
            return results.read_json(run_dir / results.RESULT)
        remove_stale_temporaries(run_dir)
        return _train_locked(run, rid, run_dir, trainer, lock)
    finally:
        lock.release()


def _resume(trainer: Any, rid: str, run_dir: Path) -> int | None:
    """Load the checkpoint if there is one; the step resumed from, else None."""
    from scaling.train import load_checkpoint

    ckpt = run_dir / CHECKPOINT
    if not ckpt.exists():
        return None
    try:
        trainer.load_state_dict(load_checkpoint(ckpt))
    except Exception as exc:  # noqa: BLE001 - an unreadable checkpoint means a fresh start
        print(f"[{rid}] checkpoint unreadable ({exc}); starting over", file=sys.stderr)
        ckpt.unlink(missing_ok=True)
        return None
    _truncate_metrics(run_dir / results.METRICS, trainer.step)
    print(f"[{rid}] resuming from step {trainer.step}", file=sys.stderr)
    return trainer.step


def _train_locked(
    run: RunConfig, rid: str, run_dir: Path, trainer: Any, lock: Any
) -> dict[str, Any] | None:
    from scaling.train import Diverged

    resumed_from = _resume(trainer, rid, run_dir)
    if resumed_from is None:
        (run_dir / results.METRICS).unlink(missing_ok=True)
    with open(run_dir / results.CONFIG, "w") as fh:
        yaml.safe_dump({"run_id": rid, **run.to_dict()}, fh, sort_keys=False)
    mirror = make_mirror(run, rid, run_dir)
    hooks = RecordHooks(run, rid, run_dir, mirror, lock)
    exit_code = 1
    try:
        res = trainer.run_to_end(hooks)
        record = build_record(run, rid, res)
        record["resumed_from_step"] = resumed_from
        record["checkpoints"] = hooks.checkpoints
        record["checkpoint_seconds"] = hooks.checkpoint_seconds
        results.atomic_write_json(run_dir / results.RESULT, record)
        hooks.status("done", step=res.steps, steps=res.steps)
        (run_dir / CHECKPOINT).unlink(missing_ok=True)
        print(
            f"[{rid}] trained: loss {record['loss']:.4f} on '{record['loss_domain']}', "
            f"{record['wall_seconds']:.1f}s",
            file=sys.stderr,
        )
        mirror.summary(record)
        exit_code = 0
        return record
    except Diverged as exc:
        hooks.status("failed", reason=f"diverged: {exc}")
        print(f"[{rid}] failed: diverged: {exc}", file=sys.stderr)
        return None
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - a crash fails this run, not the sweep
        (run_dir / "error.log").write_text(traceback.format_exc())
        hooks.status("failed", reason=f"{type(exc).__name__}: {exc}")
        print(
            f"[{rid}] failed: {type(exc).__name__}: {exc} (see {run_dir}/error.log)",
            file=sys.stderr,
        )
        return None
    finally:
        hooks.close()
        mirror.finish(exit_code)
