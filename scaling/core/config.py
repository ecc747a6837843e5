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
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from scaling.core.errors import UserError

FLOP_CONVENTIONS = ("6N_nonembed", "6N_total", "6N_attn", "hoffmann_appF")
SOURCE_KINDS = ("installed_docs", "generator", "local", "hf")
FORMS = ("trace", "outputs_only")
LOSS_MASKS = ("all", "trace_and_answer", "answer")
CORRECTION_MODES = ("raw", "outcome_filter", "process_correction", "retry_kept")
TOKENIZER_KINDS = ("byte", "bpe", "pretrained")
DEVICES = ("cpu", "cuda", "auto")


def _require(ok: bool, field_name: str, message: str) -> None:
    if not ok:
        raise UserError(f"{field_name}: {message}")


def _positive_int(value: Any, field_name: str) -> None:
    _require(
        isinstance(value, int) and not isinstance(value, bool) and value > 0,
        field_name,
        f"must be a positive integer, got {value!r}",
    )


def _fraction(value: float, field_name: str, *, low_open: bool = False) -> None:
    ok = (0.0 < value <= 1.0) if low_open else (0.0 <= value <= 1.0)
    interval = "(0, 1]" if low_open else "[0, 1]"
    _require(math.isfinite(value) and ok, field_name, f"must be in {interval}, got {value!r}")


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


def _correction_number(value: Any, field_name: str, *, fraction: bool) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if fraction:
        if not ok or not 0.0 <= value <= 1.0:
            raise UserError(f"correction.{field_name}={value!r}: must be in [0, 1]")
    elif not ok or value < 0:
        raise UserError(f"correction.{field_name}={value!r}: must be a number >= 0")


@dataclass
class CorrectionConfig:
    """Noise, expert and cost model of the simulated 'AI generates, expert corrects' pipeline
    (``scaling.data.correction``). Unit costs are seconds: reading one step, writing one fixed
    step, checking one final answer, and (machine time, reported separately) generating one
    trace."""

    epsilon: float = 0.0
    recall: float = 1.0
    mode: str = "raw"
    read_seconds_per_step: float = 4.0
    fix_seconds_per_step: float = 30.0
    check_answer_seconds: float = 5.0
    generate_seconds_per_trace: float = 0.0

    def __post_init__(self) -> None:
        _correction_number(self.epsilon, "epsilon", fraction=True)
        _correction_number(self.recall, "recall", fraction=True)
        if self.mode not in CORRECTION_MODES:
            raise UserError(
                f"correction.mode={self.mode!r}: must be one of {', '.join(CORRECTION_MODES)}"
            )
        for name in (
            "read_seconds_per_step",
            "fix_seconds_per_step",
            "check_answer_seconds",
            "generate_seconds_per_trace",
        ):
            _correction_number(getattr(self, name), name, fraction=False)


@dataclass
class SourceConfig:
    """One component of a data mixture. Fields not used by ``kind`` are ignored.

    kinds: ``installed_docs`` (English prose mined from installed documentation),
    ``generator`` (synthetic frontier traces), ``local`` (a user's files), ``hf`` (a hub dataset).
    """

    kind: str = "installed_docs"
    weight: float = 1.0
    # installed_docs: which installed packages to mine; "stdlib" is Python's own docs.
    packages: list[str] = field(
        default_factory=lambda: [
            "stdlib",
            "numpy",
            "scipy",
            "pandas",
            "torch",
            "matplotlib",
            "transformers",
            "datasets",
        ]
    )
    # generator
    generator: str = "arithmetic"
    form: str = "trace"
    params: dict[str, Any] = field(default_factory=dict)
    correction: CorrectionConfig = field(default_factory=CorrectionConfig)
    # local and hf
    path: str | None = None
    text_field: str = "text"
    dataset: str | None = None
    config_name: str | None = None
    split: str = "train"
    max_documents: int | None = None

    def validate(self, where: str) -> None:
        _require(
            self.kind in SOURCE_KINDS,
            f"{where}.kind",
            f"{self.kind!r} is not one of {', '.join(SOURCE_KINDS)}",
        )
        _require(
            self.weight > 0 and math.isfinite(self.weight),
            f"{where}.weight",
            f"must be > 0, got {self.weight}",
        )
        _require(
            self.form in FORMS, f"{where}.form", f"{self.form!r} is not one of {', '.join(FORMS)}"
        )
        if self.kind == "local":
            _require(bool(self.path), f"{where}.path", "is required for kind=local")
        if self.kind == "hf":
            _require(bool(self.dataset), f"{where}.dataset", "is required for kind=hf")


@dataclass
class DataConfig:
    """Training data: a named data type made of weighted sources.

    ``unique_tokens`` caps the distinct training tokens; a run that needs more repeats them
    (epochs > 1), as in data-constrained scaling (Muennighoff et al. 2023).
    """

    name: str = "web"
    mixture: dict[str, SourceConfig] = field(default_factory=lambda: {"web": SourceConfig()})
    unique_tokens: int | None = None
    loss_mask: str = "all"
    # the held-out domain (a key of eval.domains) whose loss is this data type's ``loss``
    eval_domain: str | None = None

    def __post_init__(self) -> None:
        _require(bool(self.mixture), "data.mixture", "needs at least one source")
        for key, src in self.mixture.items():
            src.validate(f"data.mixture.{key}")
        if self.unique_tokens is not None:
            _positive_int(self.unique_tokens, "data.unique_tokens")
        _require(
            self.loss_mask in LOSS_MASKS,
            "data.loss_mask",
            f"{self.loss_mask!r} is not one of {', '.join(LOSS_MASKS)}",
        )

    def weights(self) -> dict[str, float]:
        total = sum(s.weight for s in self.mixture.values())
        return {k: s.weight / total for k, s in self.mixture.items()}


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

    def __post_init__(self) -> None:
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


@dataclass
class TokenizerConfig:
    """``byte`` (256 bytes + end-of-document), ``bpe`` (trained locally), ``pretrained``."""

    kind: str = "byte"
    vocab_size: int = 257
    name: str | None = None

    def __post_init__(self) -> None:
        _require(
            self.kind in TOKENIZER_KINDS,
            "tokenizer.kind",
            f"{self.kind!r} is not one of {', '.join(TOKENIZER_KINDS)}",
        )
        if self.kind == "bpe":
            _require(self.vocab_size >= 260, "tokenizer.vocab_size", "must be >= 260 for kind=bpe")
        if self.kind == "pretrained":
            _require(bool(self.name), "tokenizer.name", "is required for kind=pretrained")


@dataclass
class TaskEvalConfig:
    """Exact-match accuracy of greedy decoding on held-out generator problems.

    Decoding stops at the end-of-document token, after ``max_new_tokens`` or at the model's
    context, whichever comes first."""

    generator: str = "arithmetic"
    params: dict[str, Any] = field(default_factory=dict)
    n_problems: int = 128
    max_new_tokens: int = 100
    # A published test set instead of generated problems (e.g. Lee et al. 2023's
    # ``a+b=c`` lines for ``arithmetic``); ``n_problems`` of them, a seeded subsample.
    problems_file: str | None = None
    # when problems_file does not exist: "error" (stop before training) or "skip" the task
    # with a warning (for shared configs that point at optional files)
    if_missing: str = "error"


@dataclass
class EvalConfig:
    """Held-out evaluation, identical for every run of a sweep (fixed ``seed``)."""

    domains: dict[str, SourceConfig] = field(
        default_factory=lambda: {
            "web": SourceConfig(),
            "trace": SourceConfig(kind="generator", form="trace"),
            "outputs": SourceConfig(kind="generator", form="outputs_only"),
        }
    )
    tasks: dict[str, TaskEvalConfig] = field(
        default_factory=lambda: {"arithmetic": TaskEvalConfig()}
    )
    tokens_per_domain: int = 8192
    final_tokens_per_domain: int = 65536
    points: int = 4
    seed: int = 1234

    def __post_init__(self) -> None:
        for key, src in self.domains.items():
            src.validate(f"eval.domains.{key}")
        _positive_int(self.tokens_per_domain, "eval.tokens_per_domain")
        _positive_int(self.final_tokens_per_domain, "eval.final_tokens_per_domain")
        _require(self.points >= 0, "eval.points", "must be >= 0")
        for key, task in self.tasks.items():
            _require(task.n_problems >= 0, f"eval.tasks.{key}.n_problems", "must be >= 0")
            _positive_int(task.max_new_tokens, f"eval.tasks.{key}.max_new_tokens")
            _require(
                task.if_missing in ("error", "skip"),
                f"eval.tasks.{key}.if_missing",
                f"{task.if_missing!r} is not one of error, skip",
            )
            missing = task.problems_file is not None and not Path(task.problems_file).is_file()
            if missing and task.if_missing == "skip":
                print(
                    f"warning: eval.tasks.{key}.problems_file={task.problems_file!r} not found; "
                    "task skipped (if_missing=skip)",
                    file=sys.stderr,
                )
                task.n_problems = 0
            elif missing:
                raise UserError(
                    f"eval.tasks.{key}.problems_file={task.problems_file!r}: no such file; give "
                    "an existing test file or set it to null to use generated problems"
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

    def __post_init__(self) -> None:
        _positive_int(self.threads, "runtime.threads")
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
        domains = list(self.eval.domains)
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
