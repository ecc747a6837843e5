"""Typed run configuration.

Plain dataclasses, validated in ``__post_init__``: a bad field raises ``UserError`` with one
line naming the field and what is allowed. The CLI registers these schemas with Hydra's
ConfigStore (only ``scaling.cli`` imports Hydra) and turns the composed config into a
``RunConfig`` with ``OmegaConf.to_object``, which runs the validation below.

The *scientific* sections (model, data, budget, optim, tokenizer, eval, seed) define a run's
identity (``scaling.runs.identity.run_id``); ``runtime``, ``logger`` and ``grid`` do not.

The defaults here are the defaults of ``scaling-train`` (configs/train.yaml and its default
groups: model s, data web, budget default, optim adamw, tokenizer byte, eval default), so
``RunConfig()`` in a notebook is the CLI's default run; tests/unit/core/test_config_defaults.py
keeps the two equal.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from scaling.core.data_config import (  # noqa: F401 (re-exported: the config's data sections)
    CORRECTION_MODES,
    FORMS,
    LOSS_MASKS,
    SOURCE_KINDS,
    CorrectionConfig,
    DataConfig,
    EvalConfig,
    SourceConfig,
    TaskEvalConfig,
)
from scaling.core.errors import UserError
from scaling.core.flops import CONVENTIONS as FLOP_CONVENTIONS
from scaling.core.validate import fraction as _fraction
from scaling.core.validate import positive_int as _positive_int
from scaling.core.validate import require as _require
from scaling.core.validate import revision as _revision

TOKENIZER_KINDS = ("byte", "bpe", "pretrained")
# The smallest BPE vocabulary: 256 byte symbols and the end-of-document token, plus at least 3
# merges (also checked by ``data.tokenizer.build_bpe``).
MIN_BPE_VOCAB = 260
DEVICES = ("cpu", "cuda", "auto")
PRECISIONS = ("auto", "fp32", "bf16")


@dataclass
class ModelConfig:
    """Decoder-only transformer shape. ``d_ff=None`` means 4 * d_model."""

    name: str = "s"
    n_layer: int = 2
    d_model: int = 32
    n_head: int = 2
    d_ff: int | None = None
    context: int = 128
    tie_embeddings: bool = True

    def __post_init__(self) -> None:
        for f in ("n_layer", "d_model", "n_head", "context"):
            _positive_int(getattr(self, f), f"model.{f}")
        if self.d_ff is None:
            self.d_ff = 4 * self.d_model
        _positive_int(self.d_ff, "model.d_ff")
        if self.d_model % self.n_head:
            divisors = [h for h in range(1, self.d_model + 1) if self.d_model % h == 0]
            shown = ", ".join(str(h) for h in divisors[:12])
            raise UserError(
                f"model.n_head={self.n_head} does not divide model.d_model={self.d_model}; "
                f"choose n_head in {{{shown}}} or change d_model"
            )


@dataclass
class BudgetConfig:
    """Training compute. Tokens follow from ``flops`` and the model under ``convention``."""

    flops: float = 3e11
    convention: str = "6N_attn"

    def __post_init__(self) -> None:
        self.flops = float(self.flops)
        _require(
            math.isfinite(self.flops) and self.flops > 0,
            "budget.flops",
            f"must be a positive number of FLOPs, got {self.flops}",
        )
        _require(
            self.convention in FLOP_CONVENTIONS,
            "budget.convention",
            f"{self.convention!r} is not one of {', '.join(FLOP_CONVENTIONS)}",
        )


@dataclass
class OptimConfig:
    """AdamW with linear warmup and cosine decay to ``final_lr_fraction`` of the peak.

    Width rule: ``peak_lr = lr * (lr_ref_width / d_model) ** lr_width_exponent``; exponent 1 is
    the muP-style 1/width scaling of Adam learning rates for hidden matrices (Yang et al. 2022,
    Tensor Programs V, Table 3), applied here to the whole model as a simple documented rule.
    """

    lr: float = 6e-3
    lr_ref_width: int = 64
    lr_width_exponent: float = 0.0
    beta1: float = 0.9
    beta2: float = 0.95
    eps: float = 1e-8
    weight_decay: float = 0.1
    batch_size: int = 4
    warmup_fraction: float = 0.05
    final_lr_fraction: float = 0.1
    grad_clip: float = 1.0
    # Measured per-arm learning rates: {"<data.name>/<model.name>" or "<data.name>": lr}. The
    # most specific key that matches a run replaces ``lr`` before the width rule (a sweep over
    # data types and sizes then trains each at its own bracketed LR; experiments/lr_by_width).
    # Part of the run id only when not empty.
    lr_by: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key, value in (self.lr_by or {}).items():
            _require(
                isinstance(value, int | float) and value > 0 and math.isfinite(value),
                f"optim.lr_by.{key}",
                f"must be a learning rate > 0, got {value!r}",
            )
        _require(self.lr > 0 and math.isfinite(self.lr), "optim.lr", f"must be > 0, got {self.lr}")
        _positive_int(self.lr_ref_width, "optim.lr_ref_width")
        _positive_int(self.batch_size, "optim.batch_size")
        _fraction(self.beta1, "optim.beta1")
        _fraction(self.beta2, "optim.beta2")
        _fraction(self.warmup_fraction, "optim.warmup_fraction")
        _fraction(self.final_lr_fraction, "optim.final_lr_fraction")
        _require(self.weight_decay >= 0, "optim.weight_decay", "must be >= 0")
        _require(self.grad_clip >= 0, "optim.grad_clip", "must be >= 0 (0 disables clipping)")

    def peak_lr(self, d_model: int) -> float:
        return self.lr * (self.lr_ref_width / d_model) ** self.lr_width_exponent

    def lr_for(self, data_name: str, model_name: str) -> float:
        """``lr``, or the most specific ``lr_by`` entry for this data type and size."""
        table = self.lr_by or {}
        for key in (f"{data_name}/{model_name}", data_name):
            if key in table:
                return float(table[key])
        return self.lr


@dataclass
class TokenizerConfig:
    """``byte`` (256 bytes + end-of-document), ``bpe`` (trained locally), ``pretrained``.

    ``revision`` pins a pretrained tokenizer's hub repository to a commit sha, tag or branch
    (None = main); part of the run id only when set."""

    kind: str = "byte"
    vocab_size: int = 257
    name: str | None = None
    revision: str | None = None

    def __post_init__(self) -> None:
        _require(
            self.kind in TOKENIZER_KINDS,
            "tokenizer.kind",
            f"{self.kind!r} is not one of {', '.join(TOKENIZER_KINDS)}",
        )
        if self.kind == "bpe":
            floor = MIN_BPE_VOCAB
            ok = self.vocab_size >= floor
            _require(ok, "tokenizer.vocab_size", f"must be >= {floor} for kind=bpe")
        if self.kind == "pretrained":
            _require(bool(self.name), "tokenizer.name", "is required for kind=pretrained")
        _revision(self.revision, "tokenizer.revision")
        _require(
            self.revision is None or self.kind == "pretrained",
            "tokenizer.revision",
            f"pins a hub tokenizer: set it only for kind=pretrained (this one is kind={self.kind})",
        )


@dataclass
class LoggerConfig:
    """Mirror of the local record. ``kind=none`` (default) or ``wandb``."""

    kind: str = "none"
    project: str = "scaling-lab"
    entity: str | None = None
    mode: str | None = None
    tags: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        _require(self.kind in ("none", "wandb"), "logger.kind", "must be one of none, wandb")


@dataclass
class GridConfig:
    """Which points of a sweep's grid are trained; not part of a run's identity.

    Hoffmann et al. (2022, §3.2, Approach 2) sample each isoFLOP profile with model sizes around
    that budget's optimum. A run whose tokens per parameter (D/N, N under ``budget.convention``)
    falls outside [``min_tokens_per_param``, ``max_tokens_per_param``] is skipped: nothing is
    trained or written, and ``scaling plan``/``status`` list it as ``skipped``. None = no bound.
    """

    min_tokens_per_param: float | None = None
    max_tokens_per_param: float | None = None

    def __post_init__(self) -> None:
        for name in ("min_tokens_per_param", "max_tokens_per_param"):
            value = getattr(self, name)
            if value is not None:
                _require(
                    isinstance(value, int | float) and math.isfinite(value) and value > 0,
                    f"grid.{name}",
                    f"must be a positive number or null, got {value!r}",
                )
                setattr(self, name, float(value))
        lo, hi = self.min_tokens_per_param, self.max_tokens_per_param
        _require(
            lo is None or hi is None or lo < hi,
            "grid.min_tokens_per_param",
            f"must be below grid.max_tokens_per_param, got {lo} >= {hi}",
        )


@dataclass
class RuntimeConfig:
    """How a run executes; not part of its identity."""

    out_dir: str = "runs/default"
    cache_dir: str | None = None
    threads: int = 1
    device: str = "cpu"
    compile: bool = False
    progress: str = "auto"
    checkpoint_minutes: float = 5.0
    rerun_failed: bool = False
    job_index: int | None = None  # set by the launcher glue: which job of a multirun this is
    # Matmul precision of the training step: "auto" = bf16 autocast on CUDA, fp32 on CPU (the
    # default; results comparable with every earlier run); "bf16" = bf16 autocast on CPU too
    # (weights, optimizer state and the loss stay fp32); "fp32" = never autocast. A precision
    # other than "auto" is part of the run's identity (``runs.identity.config_hash``).
    precision: str = "auto"
    # Largest pack: runs of one shape a launcher job trains together as one batched computation
    # (``train.packed``; a packed run equals its solo run). 1 turns packing off. Measured
    # (scripts/bench_pack.py, K=8): 1.2-1.7x the solo loops' throughput at d_model 24-64.
    pack: int = 8
    # What a run returns to a Hydra sweeper (hparams_search=..., Optuna): a column of the run's
    # tidy row (``runs.record.flatten_result``): loss | bpb (held-out, the run's own domain),
    # train_loss, val_<domain>_loss | val_<domain>_bpb, acc_<task>. Not part of the identity.
    objective: str = "loss"

    def __post_init__(self) -> None:
        _positive_int(self.threads, "runtime.threads")
        _positive_int(self.pack, "runtime.pack")
        base, _, index = self.device.partition(":")
        _require(
            base in DEVICES and (not index or (base == "cuda" and index.isdigit())),
            "runtime.device",
            f"{self.device!r} is not one of {', '.join(DEVICES)} or cuda:<index>",
        )
        _require(
            self.progress in ("auto", "bar", "log", "none"),
            "runtime.progress",
            "must be one of auto, bar, log, none",
        )
        _require(
            self.precision in PRECISIONS,
            "runtime.precision",
            f"{self.precision!r} is not one of {', '.join(PRECISIONS)}",
        )


def objective_names(domains: list[str], tasks: list[str]) -> list[str]:
    """The tidy-row columns a run can return to a sweeper as its objective."""
    per_domain = [f"val_{d}_{m}" for d in domains for m in ("loss", "bpb")]
    return ["loss", "bpb", "train_loss", *per_domain, *(f"acc_{t}" for t in tasks)]


SCIENTIFIC_SECTIONS = ("seed", "model", "data", "budget", "optim", "tokenizer", "eval")


@dataclass
class RunConfig:
    """One training run. ``name`` is the sweep (experiment) name."""

    name: str = "default"
    seed: int = 0
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    grid: GridConfig = field(default_factory=GridConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)

    def __post_init__(self) -> None:
        _require(self.seed >= 0, "seed", f"must be >= 0, got {self.seed}")
        self.optim.lr = self.optim.lr_for(self.data.name, self.model.name)
        domains = list(self.eval.domains)
        objectives = objective_names(domains, list(self.eval.tasks))
        _require(
            self.runtime.objective in objectives,
            "runtime.objective",
            f"{self.runtime.objective!r} is not one of {', '.join(objectives)}",
        )
        if self.data.eval_domain is None:
            first = next(iter(self.data.mixture))
            self.data.eval_domain = first if first in domains else (domains[0] if domains else None)
        _require(
            self.data.eval_domain is None or self.data.eval_domain in domains,
            "data.eval_domain",
            f"{self.data.eval_domain!r} is not an eval domain; choose one of {', '.join(domains)}",
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def scientific_dict(self) -> dict[str, Any]:
        """The part of the config that defines the run's identity."""
        d = self.to_dict()
        return {k: d[k] for k in SCIENTIFIC_SECTIONS}


def _build(cls: type, raw: Any) -> Any:
    """Recursively build dataclass ``cls`` from plain dicts (for configs read back from JSON)."""
    import dataclasses
    import typing

    if not dataclasses.is_dataclass(cls) or not isinstance(raw, dict):
        return raw
    hints = typing.get_type_hints(cls)
    kwargs = {}
    names = {f.name for f in dataclasses.fields(cls)}
    for key, value in raw.items():
        if key not in names:
            raise UserError(f"{cls.__name__}: unknown field {key!r}")
        hint = hints[key]
        origin = typing.get_origin(hint)
        if dataclasses.is_dataclass(hint):
            value = _build(hint, value)
        elif origin is dict and isinstance(value, dict):
            vt = typing.get_args(hint)[1]
            if dataclasses.is_dataclass(vt):
                value = {k: _build(vt, v) for k, v in value.items()}
        kwargs[key] = value
    return cls(**kwargs)


def run_config_from_dict(raw: dict[str, Any]) -> RunConfig:
    """Rebuild (and validate) a RunConfig from ``RunConfig.to_dict()`` output."""
    return _build(RunConfig, raw)
