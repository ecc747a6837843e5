"""Weights & Biases runs as the tidy frames of the local run records. No torch, no Hydra.

``import_project("entity/project")`` reads a project through ``wandb.Api()``;
``import_offline(dir)`` reads the offline runs below a directory (``wandb/offline-run-*/
run-*.wandb``, written with ``WANDB_MODE=offline``), no network. Both return (runs, curves)
with the columns of ``results.load`` / ``results.load_curves`` plus ``wandb_id`` and
``wandb_path`` (``entity/project/id``, or the offline run's directory that ``wandb sync``
takes); ``run_dir`` is the run directory holding the offline run, None for a server run.

A finished run's summary holds its result.json as JSON text (``record``, written by
``scaling.runs.tracking``): ``flatten_result`` of it is the row ``results.load`` gives. Runs
without one (unfinished, analysis runs, runs logged before the record was mirrored) are left
out, as ``results.load`` leaves out runs without result.json. The curve comes from the run's
history: wandb merges the training record and the evaluation logged at one step into one
row, which is split back into a "train" and an "eval" record, ``step`` and ``tokens`` as
ints and every other number as a float, as the trainer writes them. The curve columns may
come in another order than ``load_curves`` gives. A relaunched offline run has one log per
launch: each launch's history replaces the steps from its first on. Online, wandb drops the
steps a relaunch logs again, so those keep their first launch's values.

The offline log is read with wandb's own protocol buffers (``wandb.proto``); wandb 0.31 has
no Python reader of the file's framing (the LevelDB log format, read here) any more.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from scaling.analysis.export import CURVE_LEADING, curve_column, encode_nested
from scaling.core.errors import UserError
from scaling.runs.record import flatten_result
from scaling.runs.tracking import RECORD_KEY

TRAIN_KEYS = ("step", "tokens", "loss", "lr", "grad_norm", "tokens_per_second", "flops")
TRAIN_ONLY = ("loss", "lr", "grad_norm", "tokens_per_second")  # only a train record has these
STEP_KEYS = ("step", "tokens", "flops")  # in every curve record, train or eval
INT_KEYS = ("step", "tokens")  # the trainer's counters; every other curve number is a float
CURVE_LABELS = ("run_id", "data_type", "model", "params", "budget_flops", "seed")
ROW_ORDER = ("data_type", "budget_flops", "params", "seed")  # results.load's sort
OFFLINE_PREFIX = "offline-run-"
LOG_GLOB = "run-*.wandb"

# the framing of a .wandb file: a 7-byte file header, then LevelDB log blocks
LOG_IDENT, LOG_MAGIC, LOG_VERSION = b":W&B", 0xBEE1, 0
HEADER_BYTES = 7  # the file header, and the header of every chunk (crc32, length, type)
BLOCK_BYTES = 32768
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
_CRC_SEED = {kind: zlib.crc32(bytes((kind,))) for kind in (FULL, FIRST, MIDDLE, LAST)}


@dataclass
class WandbRun:
    """One finished run as wandb holds it: its record and its history rows."""

    wandb_id: str
    wandb_path: str
    run_dir: str | None
    record: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)


# ---- frames ---------------------------------------------------------------------------------
def frames(runs: Iterable[WandbRun]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(runs, curves) of ``runs`` as ``results.load`` / ``load_curves`` build them."""
    ordered = sorted(runs, key=lambda r: (str(r.record.get("run_id")), r.wandb_path))
    rows = [run_row(r) for r in ordered]
    df = pd.DataFrame(rows)
    if not df.empty:
        df = df.sort_values([c for c in ROW_ORDER if c in df]).reset_index(drop=True)
    curves = [c for c in (curve_frame(r) for r in ordered) if c is not None]
    return df, pd.concat(curves, ignore_index=True) if curves else pd.DataFrame()


def run_row(run: WandbRun) -> dict[str, Any]:
    """The run's tidy row: its flattened record, run_dir, wandb_id, wandb_path."""
    row = flatten_result(run.record)
    row["run_dir"] = run.run_dir
    row["wandb_id"] = run.wandb_id
    row["wandb_path"] = run.wandb_path
    return row


def curve_frame(run: WandbRun) -> pd.DataFrame | None:
    """The run's curve records with its labels, as ``load_curves`` gives them; None if empty."""
    records = [rec for row in run.history for rec in split_row(row)]
    if not records:
        return None
    df = pd.DataFrame(records)
    for key in CURVE_LABELS:
        df[key] = run.record.get(key)
    return df


def split_row(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A history row as the metrics.jsonl records it merges: a "train" record when it holds
    a training metric, an "eval" record when it holds anything else (wandb's own ``_step``,
    ``_runtime``... dropped)."""
    values = {k: _number(k, v) for k, v in row.items() if not k.startswith("_") and v is not None}
    out = []
    if any(k in values for k in TRAIN_ONLY):
        out.append({"kind": "train", **{k: values[k] for k in TRAIN_KEYS if k in values}})
    evals = sorted((k for k in values if k not in TRAIN_KEYS), key=_eval_order)
    if evals:
        steps = {k: values[k] for k in STEP_KEYS if k in values}
        out.append({"kind": "eval", **steps, **{k: values[k] for k in evals}})
    return out


def _eval_order(key: str) -> tuple[int, str, int]:
    """The evaluation's order: val/<domain>/loss then bpb per domain, final, task/<name>/..."""
    head, _, rest = key.partition("/")
    domain, _, metric = rest.rpartition("/")
    group = {"val": 0, "final": 1, "task": 2}.get(head, 3)
    return group, domain or key, {"loss": 0, "bpb": 1}.get(metric, 2)


def _number(key: str, value: Any) -> Any:
    """``value`` typed as the trainer logs it: counters as ints, other numbers as floats (a
    JSON writer may give 128.0 as 128, or 4096 as 4096.0)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if key in INT_KEYS:
        return int(value) if float(value).is_integer() else value
    return float(value)


def record_of(summary: Any) -> dict[str, Any] | None:
    """The result record in a run's summary (a dict, or wandb's summary object: anything
    with ``get``) under ``RECORD_KEY``; None when it has none."""
    text = summary.get(RECORD_KEY)
    if not isinstance(text, str):
        return None
    try:
        record = json.loads(text)
    except json.JSONDecodeError:
        return None
    return record if isinstance(record, dict) and record.get("run_id") else None


def export_frames(runs: pd.DataFrame, curves: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The tables ``scaling export`` writes, from imported frames: runs with ``budget`` and
    nested cells as JSON; curves with the runs table's column names, labels first."""
    if not runs.empty and "budget_flops" in runs:
        runs = runs.assign(budget=runs["budget_flops"])
    if curves.empty:
        return encode_nested(runs), pd.DataFrame(columns=list(CURVE_LEADING))
    curves = curves.rename(columns=curve_column)
    if "final" in curves:
        curves["final"] = curves["final"].eq(True)
    leading = [c for c in CURVE_LEADING if c in curves]
    curves = curves[leading + [c for c in curves.columns if c not in leading]]
    return encode_nested(runs), encode_nested(curves.reset_index(drop=True))


# ---- the wandb server -------------------------------------------------------------------------
def project_path(project: str, entity: str | None = None) -> str:
    """``entity/project`` (``project`` alone: wandb's default entity)."""
    name = project.strip().strip("/")
    if not name or name.count("/") > 1:
        raise UserError(f"{project!r}: not a wandb project; pass entity/project or project")
    if entity and "/" not in name:
        return f"{entity}/{name}"
    return name


def import_project(
    project: str,
    *,
    entity: str | None = None,
    api: Any = None,
    filters: dict[str, Any] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(runs, curves) of the finished runs of a wandb project, through ``wandb.Api()`` or
    ``api`` (anything with ``runs(path, filters=...)`` yielding runs with ``id``, ``path``,
    ``summary`` and ``scan_history()``). Raises ``UserError`` when the project cannot be read
    (no such project, no network, no API key)."""
    path = project_path(project, entity)
    try:
        client = api if api is not None else _default_api()
        runs = [_server_run(r) for r in client.runs(path, filters=filters)]
    except _api_errors() as exc:
        text = str(exc).strip()
        reason = text.splitlines()[0].rstrip(".") if text else type(exc).__name__
        raise UserError(
            f"wandb project {path}: {reason}; check the name (entity/project), the network "
            "and the API key (wandb login, or WANDB_API_KEY)"
        ) from exc
    return frames(r for r in runs if r is not None)


def _default_api() -> Any:
    import wandb

    return wandb.Api()


def _api_errors() -> tuple[type[BaseException], ...]:
    """What a failing server query raises: wandb's errors, a missing project (ValueError), a
    network error (requests' errors are OSErrors)."""
    try:
        from wandb.errors import Error as WandbError
    except ImportError:  # pragma: no cover - wandb is a dependency
        return (ValueError, OSError)
    return (WandbError, ValueError, OSError)


def _server_run(run: Any) -> WandbRun | None:
    record = record_of(run.summary)
    if record is None:
        return None
    path = run.path if isinstance(run.path, str) else "/".join(str(p) for p in run.path)
    history = [dict(row) for row in run.scan_history()]
    return WandbRun(str(run.id), path, None, record, history)


# ---- offline runs ---------------------------------------------------------------------------
@dataclass
class Launch:
    """One launch of a run: one offline run directory and its transaction log."""

    log: Path
    wandb_id: str = ""
    started_seconds: float = 0.0
    history: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


def import_offline(path: str | os.PathLike[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(runs, curves) of the finished offline wandb runs below ``path`` (a sweep directory, a
    run directory or a wandb directory). Raises ``UserError`` when ``path`` is not a directory
    or holds no offline run."""
    root = Path(path)
    if not root.is_dir():
        what = "not a directory" if root.exists() else "no such directory"
        raise UserError(
            f"{path}: {what}; pass a directory holding offline wandb runs "
            "(e.g. a sweep directory trained with logger=wandb WANDB_MODE=offline)"
        )
    logs = offline_logs(root)
    if not logs:
        raise UserError(
            f"{path}: no offline wandb runs below this directory (wandb/{OFFLINE_PREFIX}*/"
            f"{LOG_GLOB}); train with logger=wandb and WANDB_MODE=offline, or pass "
            "entity/project to read the wandb server"
        )
    return frames(offline_runs([read_launch(log) for log in logs]))


def offline_logs(root: Path) -> list[Path]:
    """The transaction logs of the offline runs at or below ``root``, none below a hidden
    directory (as ``results.result_files`` skips them)."""
    return sorted(
        p
        for p in root.rglob(LOG_GLOB)
        if p.parent.name.startswith(OFFLINE_PREFIX)
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def offline_runs(launches: list[Launch]) -> list[WandbRun]:
    """The finished runs of ``launches``, a run's launches (one wandb id) merged in order."""
    by_id: dict[str, list[Launch]] = {}
    for launch in sorted(launches, key=lambda la: (la.started_seconds, str(la.log))):
        by_id.setdefault(launch.wandb_id, []).append(launch)
    runs = []
    for wandb_id, group in by_id.items():
        done = [la for la in group if record_of(la.summary) is not None]
        if not done:
            continue
        last = done[-1]
        record = record_of(last.summary) or {}
        run_dir = str(last.log.parent.parent.parent)  # <run_dir>/wandb/offline-run-*/run-*.wandb
        runs.append(WandbRun(wandb_id, str(last.log.parent), run_dir, record, merged(group)))
    return runs


def merged(launches: list[Launch]) -> list[dict[str, Any]]:
    """The history of a run's launches, oldest first: each launch's rows replace the earlier
    rows from its first step on (a relaunch resumes from a checkpoint and logs again)."""
    rows: list[dict[str, Any]] = []
    for launch in launches:
        if launch.history:
            first = launch.history[0].get("_step", 0)
            rows = [r for r in rows if r.get("_step", 0) < first]
        rows += launch.history
    return rows


def read_launch(log: Path) -> Launch:
    """The run id, start time, history rows and final summary in one offline run's log."""
    from wandb.proto import wandb_internal_pb2 as pb

    launch = Launch(log)
    for payload in log_payloads(log):
        rec = pb.Record()
        try:
            rec.ParseFromString(payload)
        except Exception:  # noqa: BLE001 - protobuf's DecodeError: the log ends here
            break
        kind = rec.WhichOneof("record_type")
        if kind == "run":
            launch.wandb_id = rec.run.run_id
            launch.started_seconds = rec.run.start_time.ToNanoseconds() / 1e9
        elif kind == "history":
            launch.history.append(_items(rec.history.item))
        elif kind == "summary":
            launch.summary.update(_items(rec.summary.update))
            for item in rec.summary.remove:
                launch.summary.pop(_item_key(item), None)
    launch.wandb_id = launch.wandb_id or log.stem.removeprefix("run-")
    return launch


def _item_key(item: Any) -> str:
    return item.key or ".".join(item.nested_key)


def _items(items: Iterable[Any]) -> dict[str, Any]:
    """History or summary items as {key: value}; a value that is not JSON is skipped."""
    out = {}
    for item in items:
        try:
            out[_item_key(item)] = json.loads(item.value_json)
        except json.JSONDecodeError:
            continue
    return out


def log_payloads(log: Path) -> Iterator[bytes]:
    """The records of a .wandb file (LevelDB log framing: 32 KiB blocks of chunks, each with a
    crc32, a length and a type; a record spans chunks FIRST, MIDDLE..., LAST). A log cut short
    or corrupt (a run killed while writing) ends at its last whole record."""
    data = log.read_bytes()
    header = struct.unpack_from("<4sHB", data[:HEADER_BYTES].ljust(HEADER_BYTES, b"\0"))
    if header != (LOG_IDENT, LOG_MAGIC, LOG_VERSION):
        raise UserError(
            f"{log}: not a wandb transaction log (or one of an unknown version); move it out "
            "of the directory, or import the runs from the wandb server (entity/project)"
        )
    pos, parts = HEADER_BYTES, []
    while pos + HEADER_BYTES <= len(data):
        room = BLOCK_BYTES - pos % BLOCK_BYTES
        crc, length, kind = struct.unpack_from("<IHB", data, pos)
        if room < HEADER_BYTES or (kind == 0 and length == 0):  # block trailer, zero padding
            pos += room
            continue
        chunk = data[pos + HEADER_BYTES : pos + HEADER_BYTES + length]
        if not _intact(chunk, length, kind, crc):
            return
        pos += HEADER_BYTES + length
        if kind == FULL:
            yield chunk
        elif kind == FIRST:
            parts = [chunk]
        elif parts:
            parts.append(chunk)
            if kind == LAST:
                yield b"".join(parts)
                parts = []


def _intact(chunk: bytes, length: int, kind: int, crc: int) -> bool:
    """Whether a chunk is whole and its crc32 (seeded with its type) matches."""
    return kind in _CRC_SEED and len(chunk) == length and zlib.crc32(chunk, _CRC_SEED[kind]) == crc
