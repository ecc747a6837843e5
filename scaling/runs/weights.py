"""A finished run's weights: ``model.safetensors`` and ``model.json`` beside ``result.json``.

``save_final_weights`` writes the trained model (safetensors: tensors only, nothing to unpickle)
and what rebuilding it needs (the ``core.flops.Shape``, the tokenizer's kind, name, vocabulary
and fingerprint, the run id), both atomically (``core.io.atomic_write``). A tied head shares its
tensor with the embedding; safetensors refuses shared tensors, so each tensor is stored once and
``model.json`` names the aliases (``"tied": {"head.weight": "wte.weight"}``).

``load_run_model`` rebuilds the ``Transformer`` from ``model.json``, loads the weights, and
rebuilds the tokenizer from the run's ``config.yaml`` as the trainer built it; a tokenizer whose
fingerprint differs from the one recorded is refused (``UserError``), as its ids would not be
the ids the model was trained on.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch
import yaml
from safetensors import SafetensorError
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes

from scaling.core import faults, io
from scaling.core.config import RunConfig, run_config_from_dict
from scaling.core.errors import UserError
from scaling.core.flops import Shape
from scaling.data.tokenizer import run_tokenizer
from scaling.model.transformer import Transformer
from scaling.runs import identity, layout
from scaling.tokenizers.base import Tokenizer

FORMAT = 1  # of model.json; bumped when a field changes meaning


def _unique_tensors(
    state: dict[str, torch.Tensor],
) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The state's tensors with each shared tensor kept once (CPU, contiguous), and the aliases
    left out: ``{alias: name kept}`` (a tied head is ``head.weight`` -> ``wte.weight``)."""
    kept: dict[str, torch.Tensor] = {}
    aliases: dict[str, str] = {}
    seen: dict[tuple[int, int, tuple[int, ...], tuple[int, ...]], str] = {}
    for name, t in state.items():
        key = (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape), t.stride())
        if key in seen:
            aliases[name] = seen[key]
            continue
        seen[key] = name
        kept[name] = t.detach().to("cpu").contiguous()
    return kept, aliases


def model_info(trainer: Any, rid: str, aliases: dict[str, str]) -> dict[str, Any]:
    """What ``model.json`` holds: the shape, the tokenizer to rebuild and the run id."""
    tok = trainer.tok
    return {
        "format": FORMAT,
        "run_id": rid,
        "weights": layout.WEIGHTS,
        "shape": dataclasses.asdict(trainer.shape),
        "vocab_size": trainer.shape.vocab_size,
        "tokenizer": {
            "kind": trainer.run.tokenizer.kind,
            "name": tok.name,
            "vocab_size": tok.vocab_size,
            "fingerprint": tok.fingerprint(),
        },
        "tied": aliases,
    }


def save_final_weights(run_dir: Path, trainer: Any) -> dict[str, Any]:
    """Write ``trainer.model``'s weights as ``model.safetensors`` and their description as
    ``model.json`` in ``run_dir`` (each atomically); the files' names and sizes for the record."""
    run_dir = Path(run_dir)
    rid = identity.run_id(trainer.run.to_dict())
    tensors, aliases = _unique_tensors(trainer.model.state_dict())
    blob = safetensors_bytes(tensors, metadata={"format": "pt", "run_id": rid})
    io.atomic_write_bytes(run_dir / layout.WEIGHTS, blob)
    faults.point("weights.safetensors_written")
    io.atomic_write_json(run_dir / layout.MODEL_INFO, model_info(trainer, rid, aliases))
    return {
        "file": layout.WEIGHTS,
        "bytes": len(blob),
        "info_file": layout.MODEL_INFO,
        "info_bytes": (run_dir / layout.MODEL_INFO).stat().st_size,
        "tensors": len(tensors),
        "dtype": str(next(iter(tensors.values())).dtype).removeprefix("torch."),
    }


def _check_run_dir(run_dir: Path) -> None:
    """A directory holding the weights of a finished run, else a one-line ``UserError``."""
    if not run_dir.is_dir():
        raise UserError(
            f"{run_dir}: not a directory; pass a run directory such as runs/quickstart/<run_id>"
        )
    if not (run_dir / layout.WEIGHTS).is_file():
        raise UserError(
            f"{run_dir}: no {layout.WEIGHTS}; the run has not finished, or it was trained before "
            "final weights were kept: finish it (or retrain it) with scaling-train"
        )


def read_model_info(run_dir: Path) -> dict[str, Any]:
    """The parsed ``model.json`` of ``run_dir``, checked to describe a model."""
    path = Path(run_dir) / layout.MODEL_INFO
    info = io.read_json(path)
    if not info or not isinstance(info.get("shape"), dict) or "tokenizer" not in info:
        raise UserError(
            f"{path}: missing or not a model description written by scaling-train; "
            "retrain the run to write it again"
        )
    try:
        Shape(**info["shape"])
    except TypeError as exc:
        raise UserError(
            f"{path}: its shape is not a model's ({exc}); retrain the run to write it again"
        ) from None
    return info


def read_run_config(run_dir: Path) -> RunConfig:
    """The run's config as it trained, from its ``config.yaml``."""
    path = Path(run_dir) / layout.CONFIG
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise UserError(f"{path}: cannot be read ({exc}); pass a run directory") from None
    if not isinstance(raw, dict):
        raise UserError(f"{path}: not a run config; pass a run directory")
    raw.pop("run_id", None)
    return run_config_from_dict(raw)


def _load_model(run_dir: Path, info: dict[str, Any]) -> Transformer:
    """The ``Transformer`` of ``info``'s shape holding the run's stored weights, in eval mode."""
    path = run_dir / layout.WEIGHTS
    try:
        shape = Shape(**info["shape"])
        state = load_file(path)
        for alias, name in (info.get("tied") or {}).items():
            state[alias] = state[name]
        with torch.random.fork_rng(devices=[]):  # the random init is overwritten at once
            model = Transformer(shape)
        model.load_state_dict(state, strict=True)
    except (SafetensorError, OSError, KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise UserError(
            f"{path}: does not load into the model {layout.MODEL_INFO} describes "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
            "retrain the run to write its weights again"
        ) from None
    return model.eval()


def _rebuild_tokenizer(run_dir: Path, info: dict[str, Any]) -> Tokenizer:
    """The run's tokenizer, rebuilt from config.yaml; refused when its fingerprint differs from
    the one ``model.json`` recorded."""
    run = read_run_config(run_dir)
    tok = run_tokenizer(run)  # as the trainer built it (a pinned revision included)
    want = info["tokenizer"].get("fingerprint")
    if tok.fingerprint() != want or tok.vocab_size != info["shape"].get("vocab_size"):
        raise UserError(
            f"{run_dir / layout.MODEL_INFO}: the model was trained with tokenizer {want} but "
            f"{layout.CONFIG} rebuilds {tok.fingerprint()} ({tok.vocab_size} ids); rebuild it "
            "from the same data and cache (SCALING_CACHE_DIR) or retrain the run"
        )
    return tok


def load_run_model(run_dir: Path) -> tuple[Transformer, Tokenizer]:
    """The finished run's model (on CPU, eval mode) and its tokenizer. Bad input (not a run
    directory, no weights, a tokenizer that is not the one trained with) is a ``UserError``."""
    run_dir = Path(run_dir)
    _check_run_dir(run_dir)
    info = read_model_info(run_dir)
    model = _load_model(run_dir, info)  # the weights first: rebuilding a tokenizer takes longer
    return model, _rebuild_tokenizer(run_dir, info)
