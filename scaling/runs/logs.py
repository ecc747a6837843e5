"""A run's log: ``<run_dir>/train.log`` (times, levels) beside the console's lines.

``run_logger(rid, run_dir)`` is the logger ``scaling.run.<rid>``: its records go to the run's
own file and, through the ``scaling`` tree, to the console that the entry point configured
(``core.log.configure_console``). ``close_run_logger`` detaches the file when the run ends (a
worker process trains many runs).
"""

from __future__ import annotations

import logging
from pathlib import Path

import yaml

from scaling.core.log import FILE_FORMAT, get_logger
from scaling.runs import layout


def run_logger(rid: str, run_dir: Path) -> logging.Logger:
    """The run's logger, writing to ``run_dir/train.log`` (appended: a resumed run continues it)."""
    log = get_logger(f"run.{rid}")
    log.setLevel(logging.INFO)
    path = Path(run_dir) / layout.LOG
    if not any(getattr(h, "baseFilename", None) == str(path.resolve()) for h in log.handlers):
        handler = logging.FileHandler(path, encoding="utf-8")
        handler.setFormatter(logging.Formatter(FILE_FORMAT))
        log.addHandler(handler)
    return log


def log_config(log: logging.Logger, rid: str, config: dict, console: bool) -> None:
    """The resolved config at the start of a run: in its file always, on the console when
    ``console`` (a single run; a sweep's hundreds of configs would bury its progress)."""
    text = yaml.safe_dump({"run_id": rid, **config}, sort_keys=False).rstrip()
    record = f"resolved config:\n{text}"
    if console:
        log.info(record)
        return
    for h in log.handlers:  # the file handlers only
        h.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, record, None, None))


def close_run_logger(log: logging.Logger) -> None:
    for h in list(log.handlers):
        h.close()
        log.removeHandler(h)
