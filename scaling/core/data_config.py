"""The data and evaluation sections of a run's config: sources (installed docs, generators, local
files, hub datasets), their expert-correction model, the training mixture, held-out domains and
verified tasks. Validated in ``__post_init__``; re-exported by ``core.config``."""

from __future__ import annotations

import copy
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scaling.core.errors import UserError
from scaling.core.validate import correction_number as _correction_number
from scaling.core.validate import positive_int as _positive_int
from scaling.core.validate import require as _require
from scaling.core.validate import revision as _revision

SOURCE_KINDS = ("installed_docs", "generator", "local", "hf")
FORMS = ("trace", "outputs_only")
LOSS_MASKS = ("all", "trace_and_answer", "answer")
SCORES = (None, "all", "answer")  # SourceConfig.score (eval domains)
CORRECTION_MODES = ("raw", "outcome_filter", "process_correction", "retry_kept")


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
    """One component of a data mixture. Fields not used by ``kind`` are ignored, except
    ``revision`` (only a hub dataset can be pinned; refused elsewhere).

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
    # hf: the hub revision (commit sha, tag or branch) to load; None = the hub's main at download
    # time (the commit it resolved to is recorded). Part of the run id only when set.
    revision: str | None = None
    # eval domains only: which targets the held-out loss scores. None (or "all"): every token;
    # "answer": only the answer line and end of document of generator problems (the
    # answer-token loss, a target both renderings of a problem share). Part of the run id only
    # when set.
    score: str | None = None

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
        _revision(self.revision, f"{where}.revision")
        _require(
            self.score in SCORES,
            f"{where}.score",
            f"{self.score!r} is not one of null, all, answer",
        )
        _require(
            self.score != "answer" or self.kind == "generator",
            f"{where}.score",
            f"answer scores the answer line of generated problems: needs kind=generator "
            f"(this source is kind={self.kind})",
        )
        _require(
            self.revision is None or self.kind == "hf",
            f"{where}.revision",
            f"pins a hub dataset: set it only for kind=hf (this source is kind={self.kind})",
        )


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


# The frontier mixture of configs/data/frontier.yaml and configs/eval/default.yaml: the four base
# generators, the three longer ones at difficulty 1 so that every trace fits context 128.
_SHORT = {"difficulty": 1}
_MIX: dict[str, Any] = {
    "kind": "generator",
    "generator": "mix",
    "params": {
        "of": ["arithmetic", "igsm", "tool_use", "agent"],
        "base_params": {"igsm": _SHORT, "tool_use": _SHORT, "agent": _SHORT},
    },
}


def _mix() -> dict[str, Any]:
    """A fresh copy of ``_MIX`` (no two configs share its dicts)."""
    return copy.deepcopy(_MIX)


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
            "trace": SourceConfig(**_mix(), form="trace"),
            "outputs": SourceConfig(**_mix(), form="outputs_only"),
            "answer": SourceConfig(**_mix(), form="outputs_only", score="answer"),
        }
    )
    tasks: dict[str, TaskEvalConfig] = field(
        default_factory=lambda: {
            "frontier": TaskEvalConfig(
                generator="mix", params=_mix()["params"], n_problems=256, max_new_tokens=120
            )
        }
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
