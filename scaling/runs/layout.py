"""The run directory's files: the names of the local run record, the source of truth of a sweep.

A run directory holds ``config.yaml`` (the resolved config), ``metrics.jsonl`` (one JSON record per
logged step and evaluation), ``status.json`` (running / failed, with the reason), while training
``checkpoint.pt``, and, written atomically only when the run succeeds, ``result.json``. Writers
(``runs``) and readers (``analysis.results``, ``runs.state``) take the names from here.
"""

RESULT = "result.json"
STATUS = "status.json"
METRICS = "metrics.jsonl"
CONFIG = "config.yaml"
CHECKPOINT = "checkpoint.pt"
SCHEMA_VERSION = 1  # of result.json; bumped when a field changes meaning
