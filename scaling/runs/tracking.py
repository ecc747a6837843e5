"""Weights & Biases mirror of the local run record (``logger=wandb``).

The local record stays the source of truth; this only mirrors it. A wandb run is identified
per sweep *and* run: its id is ``<run id>-<sweep hash>`` (``wandb_run_id``), the sweep hash
being 8 hex of sha256 of the sweep name and its output directory resolved to an absolute path.
The scaling-lab run id hashes only the scientific config, so two sweeps sharing a grid point
(``experiment=quickstart`` and ``isoflop_web_vs_frontier`` both train
``web-s-1e11-s0-6615803e26``) get two wandb runs, while a relaunch of the same sweep resumes
its own. name = run id, group = sweep name, job_type = data type, tags = the configured tags
plus ``data:<type>`` and ``model:<name>``, config = the resolved run config, summary =
result.json (its flat scalar fields, and the whole record as JSON text under ``record``,
from which ``scaling import-wandb`` rebuilds the run's tidy row); every metric is plotted
against ``flops`` by default (``tokens`` is logged in the same rows, so it can be picked as
the x axis too). Several runs of one process (a pack) each get their own wandb run.

``WANDB_MODE`` (or ``logger.mode``) ``offline`` and ``disabled`` are respected. In ``online``
mode the API host is probed first with a short TCP timeout; when it cannot be reached the
mirror falls back to offline instead of waiting, and every wandb call is guarded so the mirror
can never fail or hang a run. An offline run prints once where it went and the ``wandb sync``
command that uploads it. ``log_sweep_artifacts`` logs a sweep's analysis (fits, verdict,
figures) as one artifact of a short ``analysis`` run in the sweep's group.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from scaling.core.config import RunConfig
from scaling.core.io import json_default

PROBE_SECONDS = 3.0
INIT_TIMEOUT_SECONDS = 60
WANDB_ID_MAX = 64  # wandb's limit on run ids (and on tags and job types)
SWEEP_HASH_LEN = 8
STEP_METRICS = ("flops", "tokens")  # x axes of the curves; "flops" is the default one
RECORD_KEY = "record"  # the summary key holding the whole result.json, as JSON text
ANALYSIS_FILES = ("fits.json", "verdict.json", "verdict.md", "report.md")
FIGURES_GLOB = "figures/*.png"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def wandb_reachable(timeout: float = PROBE_SECONDS) -> bool:
    """Whether the wandb API host accepts a TCP connection within ``timeout`` seconds."""
    base = os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")
    url = urlparse(base)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "api.wandb.ai", port), timeout=timeout):
            return True
    except OSError:
        return False


def resolve_mode(requested: str | None) -> str:
    """The mode wandb will run in: explicit config, then $WANDB_MODE, then online if reachable."""
    mode = (requested or os.environ.get("WANDB_MODE") or "online").lower()
    if mode in ("disabled", "offline", "dryrun"):
        return "disabled" if mode == "disabled" else "offline"
    return "online" if wandb_reachable() else "offline"


def flat_summary(record: dict[str, Any]) -> dict[str, Any]:
    """The scalar fields of a result record, flattened, for the wandb summary."""
    from scaling.runs.record import flatten_result

    return {k: v for k, v in flatten_result(record).items() if isinstance(v, int | float | str)}


def summary_fields(record: dict[str, Any]) -> dict[str, Any]:
    """The wandb summary of a finished run: ``flat_summary`` plus the whole record as JSON
    (``RECORD_KEY``), written as result.json writes it, so an import rebuilds the exact row
    (None values, nested fields) whatever the history's last row put in the flat keys."""
    text = json.dumps(record, sort_keys=True, default=json_default)
    return {**flat_summary(record), RECORD_KEY: text}


# ---- identity ------------------------------------------------------------------------------
def _digest(text: str, n: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def sweep_hash(name: str, out_dir: str | os.PathLike[str]) -> str:
    """8 hex naming one sweep: its name and its output directory as an absolute path (symlinks
    resolved), so a relaunch from anywhere, with a relative or absolute ``out_dir``, agrees."""
    return _digest(f"{name}\n{Path(out_dir).expanduser().resolve()}", SWEEP_HASH_LEN)


def safe_wandb_id(stem: str, suffix: str) -> str:
    """``<stem>-<suffix>`` in wandb's id alphabet (letters, digits, ``-``, ``_``), at most 64
    characters: a longer stem is cut and a hash of the whole stem appended, so ids stay unique."""
    stem = _UNSAFE.sub("_", stem)
    room = WANDB_ID_MAX - len(suffix) - 1
    if len(stem) > room:
        stem = f"{stem[: room - 11]}-{_digest(stem, 10)}"
    return f"{stem}-{suffix}"


def wandb_run_id(run: RunConfig, rid: str) -> str:
    """The wandb id of run ``rid`` of ``run``'s sweep: unique per sweep and run, stable across
    resumes and relaunches of that sweep."""
    return safe_wandb_id(rid, sweep_hash(run.name, run.runtime.out_dir))


def _label(text: str) -> str:
    return str(text)[:WANDB_ID_MAX]


def run_tags(run: RunConfig) -> list[str]:
    """The configured tags plus the run's data type and model, each within wandb's 64 chars."""
    extra = [f"data:{run.data.name}", f"model:{run.model.name}"]
    return list(dict.fromkeys(_label(t) for t in [*run.logger.tags, *extra]))


def init_kwargs(run: RunConfig, rid: str, run_dir: Path) -> dict[str, Any]:
    """The ``wandb.init`` arguments of one run (without mode and settings)."""
    return {
        "project": run.logger.project,
        "entity": run.logger.entity,
        "group": run.name,
        "job_type": _label(run.data.name),
        "id": wandb_run_id(run, rid),
        "name": rid,
        "config": run.to_dict(),
        "tags": run_tags(run),
        "dir": str(run_dir),
    }


# ---- wandb calls ---------------------------------------------------------------------------
def _warn(what: str, exc: Exception) -> None:
    print(
        f"wandb {what} failed ({type(exc).__name__}: {exc}); local record unaffected",
        file=sys.stderr,
    )


def start_run(mode: str, **kwargs: Any) -> Any:
    """A new wandb run (never the previous one of this process: ``reinit="create_new"``), or
    None after reporting why it could not start."""
    try:
        import wandb

        return wandb.init(
            **kwargs,
            mode=mode,
            resume="allow",
            reinit="create_new",
            settings=wandb.Settings(init_timeout=INIT_TIMEOUT_SECONDS, silent=True),
        )
    except Exception as exc:  # noqa: BLE001 - the mirror must never fail the run
        _warn("init", exc)
        return None


def define_step_metrics(run_obj: Any) -> None:
    """Declare ``flops`` and ``tokens`` as step metrics and plot every metric against ``flops``
    by default; the records are still logged at their training step."""
    for name in STEP_METRICS:
        run_obj.define_metric(name)
    run_obj.define_metric("*", step_metric=STEP_METRICS[0])


def run_info(run_obj: Any, mode: str, project: str) -> dict[str, Any]:
    """Where a wandb run lives: id, project, group, mode, the local run directory (the one
    ``wandb sync`` takes) and, online, its URL."""
    sync_dir = getattr(getattr(run_obj, "settings", None), "sync_dir", None)
    return {
        "id": run_obj.id,
        "project": getattr(run_obj, "project", None) or project,
        "group": getattr(run_obj, "group", None),
        "mode": mode,
        "path": os.path.abspath(sync_dir) if sync_dir else None,
        "url": getattr(run_obj, "url", None) if mode == "online" else None,
    }


def announce_offline(label: str, info: dict[str, Any]) -> None:
    """Say where an offline wandb run went and how to upload it."""
    path = info.get("path")
    if info.get("mode") != "offline" or not path:
        return
    print(
        f"[{label}] wandb is offline: run {info['id']} saved to {path}; "
        f"upload it with: wandb sync {shlex.quote(str(path))}",
        file=sys.stderr,
    )


# ---- the mirror ----------------------------------------------------------------------------
class WandbMirror:
    """Mirror one run; every method swallows wandb errors after reporting them once.

    ``wandb_id`` is the wandb run id; ``info`` says where the run lives (``run_info``; empty
    when wandb is disabled or did not start), for the run's record."""

    def __init__(self, run: RunConfig, rid: str, run_dir: Path) -> None:
        self.rid = rid
        self.wandb_id = wandb_run_id(run, rid)
        self.mode = resolve_mode(run.logger.mode)
        self.info: dict[str, Any] = {}
        self.announced = False
        self.run_obj = None
        if self.mode == "disabled":
            return
        self.run_obj = start_run(self.mode, **init_kwargs(run, rid, run_dir))
        if self.run_obj is None:
            return
        self.info = run_info(self.run_obj, self.mode, run.logger.project)
        try:
            define_step_metrics(self.run_obj)
        except Exception as exc:  # noqa: BLE001 - default x axes then; the run goes on
            _warn("define_metric", exc)

    def _warn(self, what: str, exc: Exception) -> None:
        _warn(what, exc)
        self.run_obj = None

    def log(self, rec: dict[str, Any], step: int) -> None:
        if self.run_obj is None:
            return
        try:
            self.run_obj.log(
                {k: v for k, v in rec.items() if isinstance(v, int | float)}, step=step
            )
        except Exception as exc:  # noqa: BLE001
            self._warn("log", exc)

    def summary(self, record: dict[str, Any]) -> None:
        if self.run_obj is None:
            return
        try:
            # commit the last history row first: flushed at finish, it would write its
            # training loss, tokens and flops over the record's held-out values
            self.run_obj.log({}, commit=True)
            self.run_obj.summary.update(summary_fields(record))
        except Exception as exc:  # noqa: BLE001
            self._warn("summary", exc)

    def finish(self, exit_code: int = 0) -> None:
        if self.run_obj is None:
            return
        try:
            self.run_obj.finish(exit_code=exit_code)
        except Exception as exc:  # noqa: BLE001
            self._warn("finish", exc)
        self.run_obj = None
        if not self.announced:
            self.announced = True
            announce_offline(self.rid, self.info)


class NullMirror:
    """The mirror of ``logger=none``: does nothing."""

    def __init__(self) -> None:
        self.wandb_id: str | None = None
        self.info: dict[str, Any] = {}

    def log(self, rec: dict[str, Any], step: int) -> None: ...
    def summary(self, rec: dict[str, Any]) -> None: ...
    def finish(self, exit_code: int = 0) -> None: ...


def make_mirror(run: RunConfig, rid: str, run_dir: Path) -> Any:
    """The tracking mirror of one run: wandb for ``logger=wandb``, else one that does nothing."""
    if run.logger.kind == "wandb":
        return WandbMirror(run, rid, run_dir)
    return NullMirror()


# ---- sweep analysis artifact ---------------------------------------------------------------
def _get(obj: Any, key: str, default: Any = None) -> Any:
    """``obj[key]`` of a mapping (dict, OmegaConf config) or ``obj.key`` of a dataclass; None
    reads as ``default``."""
    value = obj.get(key) if isinstance(obj, Mapping) else getattr(obj, key, None)
    return default if value is None else value


def analysis_files(sweep_dir: Path) -> list[Path]:
    """The analysis outputs of a sweep directory that exist: fits, verdict, report, figures."""
    named = [sweep_dir / name for name in ANALYSIS_FILES]
    return [p for p in named if p.is_file()] + sorted(sweep_dir.glob(FIGURES_GLOB))


def _analysis_artifact(sweep_dir: Path, name: str, files: list[Path]) -> Any:
    import wandb

    artifact = wandb.Artifact(
        _UNSAFE.sub("_", f"{name}-analysis")[:WANDB_ID_MAX],
        type="analysis",
        description=f"fits, verdict and figures of the sweep at {sweep_dir}",
        metadata={"sweep": name, "sweep_dir": str(sweep_dir)},
    )
    for path in files:
        artifact.add_file(str(path), name=path.relative_to(sweep_dir).as_posix())
    return artifact


def log_sweep_artifacts(sweep_dir: str | os.PathLike[str], config: Any) -> dict[str, Any] | None:
    """Log a sweep's analysis (``analysis_files``) as one wandb artifact of a short run with
    job_type ``analysis`` in the sweep's group (id ``<sweep>-analysis-<sweep hash>``).

    ``config`` is the sweep's run config, Hydra config or a dict with ``name`` and ``logger``.
    A no-op (None) unless ``logger.kind`` is wandb and wandb is not disabled, or when the
    sweep has no analysis files yet; never raises. Returns the run's ``run_info`` plus the
    artifact name and its files.
    """
    logger = _get(config, "logger", {})
    if _get(logger, "kind", "none") != "wandb":
        return None
    mode = resolve_mode(_get(logger, "mode"))
    root = Path(sweep_dir).expanduser().resolve()
    files = analysis_files(root)
    if mode == "disabled" or not files:
        return None
    name = str(_get(config, "name", root.name))
    run_obj = start_run(
        mode,
        project=_get(logger, "project", "scaling-lab"),
        entity=_get(logger, "entity"),
        group=name,
        job_type="analysis",
        id=safe_wandb_id(f"{name}-analysis", sweep_hash(name, root)),
        name=f"{name}-analysis",
        config={"sweep": name, "sweep_dir": str(root)},
        tags=[_label(t) for t in [*list(_get(logger, "tags", [])), "analysis"]],
        dir=str(root),
    )
    if run_obj is None:
        return None
    return _log_and_finish(run_obj, mode, root, name, files, _get(logger, "project", ""))


def _log_and_finish(
    run_obj: Any, mode: str, root: Path, name: str, files: list[Path], project: str
) -> dict[str, Any] | None:
    """Log the artifact, finish the run (always), announce an offline run; the run's info."""
    info = run_info(run_obj, mode, project)
    artifact = None
    try:
        artifact = run_obj.log_artifact(_analysis_artifact(root, name, files))
    except Exception as exc:  # noqa: BLE001 - the sweep's files stand on their own
        _warn("artifact", exc)
    try:
        run_obj.finish(exit_code=0 if artifact is not None else 1)
    except Exception as exc:  # noqa: BLE001
        _warn("finish", exc)
    if artifact is None:
        return None
    announce_offline(f"{name} analysis", info)
    return {
        **info,
        "artifact": artifact.name,
        "files": [p.relative_to(root).as_posix() for p in files],
    }
