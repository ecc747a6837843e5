"""The run directory's files: the names of the local run record, the source of truth of a sweep.

A run directory holds ``config.yaml`` (the resolved config), ``metrics.jsonl`` (one JSON record per
logged step and evaluation), ``status.json`` (running / failed, with the reason), while training
``checkpoint.pt``, ``train.log`` (its log lines), and, written atomically only when the run
succeeds, ``model.safetensors`` (the final weights), ``model.json`` (the shape and tokenizer
they need, ``runs.weights``) and then ``result.json``. Writers (``runs``) and readers
(``analysis.results``, ``runs.state``) take the names from here.
"""

RESULT = "result.json"
STATUS = "status.json"
METRICS = "metrics.jsonl"
CONFIG = "config.yaml"
CHECKPOINT = "checkpoint.pt"
WEIGHTS = "model.safetensors"
MODEL_INFO = "model.json"
LOG = "train.log"  # the run's log lines with times (runs.logs), appended across attempts
SCHEMA_VERSION = 1  # of result.json; bumped when a field changes meaning
