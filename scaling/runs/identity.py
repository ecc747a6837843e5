"""Run identity. No torch, no Hydra.

A run's identity is a hash of its resolved *scientific* config (``core.config.SCIENTIFIC_SECTIONS``:
seed, model, data, budget, optim, tokenizer, eval), never of logging, launcher, thread or path
settings. The id names the run directory, so re-launching a sweep finds finished runs and skips
them, and extending a grid runs only the new points.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

from scaling.core.config import SCIENTIFIC_SECTIONS

# Fields added to the scientific config after run ids were first issued: left out of the hash
# while unset (None), so every config that does not set them keeps the id it had before.
# ``revision`` pins a hub dataset (``SourceConfig``) or a pretrained tokenizer's repository;
# ``score`` selects the targets an eval domain scores.
LATER_FIELDS = ("revision", "score")
# Fields that only choose another field's value: never hashed. ``optim.lr_by`` picks the run's
# ``optim.lr``, which is hashed, so editing the table for one arm re-runs only the runs whose
# learning rate it changes.
SELECTORS = {"optim": ("lr_by",)}


def canonical(obj: Any) -> Any:
    """Normalise numbers so 1e11 and 100000000000 hash alike; sort keys."""
    if isinstance(obj, dict):
        return {str(k): canonical(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, list | tuple):
        return [canonical(v) for v in obj]
    if isinstance(obj, float) and math.isfinite(obj) and obj.is_integer():
        return int(obj)
    return obj


def _drop_unset(section: Any) -> Any:
    """``section`` (a config dict) without the ``LATER_FIELDS`` it leaves at None."""
    if not isinstance(section, dict):
        return section
    return {k: v for k, v in section.items() if not (k in LATER_FIELDS and v is None)}


def _without_unset_later_fields(sci: dict[str, Any]) -> dict[str, Any]:
    """The scientific sections with unset ``LATER_FIELDS`` dropped from the tokenizer and from
    every source (``data.mixture``, ``eval.domains``)."""
    out = dict(sci)
    if "tokenizer" in out:
        out["tokenizer"] = _drop_unset(out["tokenizer"])
    for section, keys in SELECTORS.items():
        if isinstance(out.get(section), dict):
            out[section] = {k: v for k, v in out[section].items() if k not in keys}
    for section, sources in (("data", "mixture"), ("eval", "domains")):
        part = out.get(section)
        if isinstance(part, dict) and isinstance(part.get(sources), dict):
            dropped = {name: _drop_unset(src) for name, src in part[sources].items()}
            out[section] = {**part, sources: dropped}
    return out


def config_hash(config: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of the scientific sections of a run config dict (unset
    ``LATER_FIELDS`` left out)."""
    sci = _without_unset_later_fields({k: config[k] for k in SCIENTIFIC_SECTIONS if k in config})
    precision = (config.get("runtime") or {}).get("precision", "auto")
    if precision != "auto":  # changes the numerics; "auto" is left out so older ids still hold
        sci["precision"] = precision
    blob = json.dumps(canonical(sci), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def _flops_label(flops: float) -> str:
    mantissa, exponent = f"{flops:.1e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def run_id(config: dict[str, Any]) -> str:
    """Readable and unique: ``<data>-<model>-<flops>-s<seed>-<hash10>``."""
    label = "-".join(
        [
            str(config["data"]["name"]),
            str(config["model"]["name"]),
            _flops_label(float(config["budget"]["flops"])),
            f"s{config['seed']}",
        ]
    )
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in label)
    return f"{safe}-{config_hash(config)[:10]}"
