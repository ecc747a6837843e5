"""Simulated "AI generates, expert corrects": noisy traces, an expert with limited recall, costs.

The pipeline prices frontier data in expert-seconds (scaling-lab DESIGN.md section 2, "data
quality: generator error rate, expert recall and correction mode, with a cost per trace").
It follows the process-supervision setting of Lightman et al. 2023 ("Let's Verify Step by
Step", Sec. 2: humans label each step of a model's solution; outcome supervision checks only
the final answer) and the retry data of Ye et al. 2024 (Physics of LMs 2.2: keep the mistake,
add a back-off marker, then the correction).

1. The noisy generator. Each step of a gold trace is corrupted independently with probability
   ``epsilon`` by the generator's own ``corrupt_step`` (a plausible wrong step: a slipped digit,
   a dropped carry, a wrong tool result, a wrong move). The rest of the trace is then
   *recomputed from the wrong value* (``continue_from``), as a model that believes its own
   mistake would, so the error propagates to every step that uses it and to the final answer.
   Steps written after a corruption can be corrupted too. Marker lines (and the step a marker
   retracts) are never corrupted. Outputs-only examples (no steps) cannot be corrupted.
2. The expert reads the steps in order and notices each wrong step (``verify_steps`` False and
   not already retracted by a marker) independently with probability ``recall``.
3. Modes:

   - ``raw``: everything is kept as generated; no expert time.
   - ``outcome_filter``: the expert checks only the final answer (``check_answer_seconds`` per
     trace, exact by the verifier) and keeps the traces whose answer verifies. Wrong steps that
     do not reach the answer survive.
   - ``process_correction``: at the first noticed wrong step the expert writes the correct step
     and the rest is regenerated correctly (``correct_from``); all traces are kept. Wrong steps
     before it that were missed stay (residual errors).
   - ``retry_kept``: like ``process_correction`` but the noticed wrong step is kept, followed by
     ``RETRY_MARKER`` and the correct step, then the correct rest (self-correction data).

Costs. Expert seconds = ``read_seconds_per_step`` x steps read + ``fix_seconds_per_step`` x
interventions + ``check_answer_seconds`` x answers checked. In the reading modes the expert
reads the machine's steps up to the one fixed (or all of them), writes the fix, and reads the
regenerated rest; one intervention fixes one step. Machine generation is counted separately:
``machine_seconds_total`` = ``generate_seconds_per_trace`` x traces generated (rejected ones
included); ``total_seconds_per_kept_trace`` adds both.

Stats (``CorrectionResult.stats``): n_generated, n_kept, keep_rate, steps_generated,
steps_corrupted, traces_corrupted, steps_read, interventions, interventions_per_1000_steps
(per 1000 generated steps), answers_checked, expert_seconds_total, machine_seconds_total,
expert_seconds_per_kept_trace, total_seconds_per_kept_trace, residual_error_rate (kept traces
with any wrong step that no marker retracts, by ``verify_steps``) and answer_error_rate (kept
traces whose answer does not verify). Per-kept-trace values are NaN when nothing is kept.

Determinism: every random choice comes from ``random.Random`` seeded by sha256 of (seed,
position in the batch, problem uid, purpose). Whether step ``i`` is corrupted and whether the
expert notices it are drawn from separate streams, so raising ``epsilon`` or ``recall`` with the
same seed changes the outcome monotonically step by step (common random numbers).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from scaling.core.config import CORRECTION_MODES, CorrectionConfig
from scaling.core.errors import UserError
from scaling.data.generators.base import (
    ANSWER_PREFIX,
    RETRY_MARKER,
    BaseGenerator,
    Example,
    derive_seed,
    is_marker,
)

MODES = CORRECTION_MODES
SUMMED_STATS = _SUMMED = (
    "n_generated",
    "n_kept",
    "steps_generated",
    "steps_corrupted",
    "traces_corrupted",
    "steps_read",
    "interventions",
    "answers_checked",
    "kept_with_residual_error",
    "kept_with_wrong_answer",
)


@dataclass
class CorrectionResult:
    """Kept examples (``meta["correction"]`` records what happened) and the batch's stats."""

    kept: list[Example]
    stats: dict[str, float]
    config: CorrectionConfig
    records: list[dict[str, Any]] = field(default_factory=list, repr=False)


def _completion(example: Example) -> str:
    return "".join(example.steps) + ANSWER_PREFIX + example.answer + "\n"


def wrong_steps(generator: BaseGenerator, example: Example) -> list[bool]:
    """Per step: is it an error that still stands (wrong and not retracted by a marker)?

    A wrong step followed by a correct marker is a retracted mistake, not an error; a marker
    after a correct step is itself an error.
    """
    flags = generator.verify_steps(example, _completion(example))
    lines = [s.rstrip("\n") for s in example.steps]
    out = []
    for i, ok in enumerate(flags):
        retracted = i + 1 < len(flags) and is_marker(lines[i + 1]) and flags[i + 1]
        out.append(not ok and not retracted)
    return out


def noisy_trace(
    generator: BaseGenerator,
    example: Example,
    epsilon: float,
    pick: random.Random,
    content: random.Random,
) -> tuple[list[str], str, list[int]]:
    """The steps and answer as a generator with per-step error rate ``epsilon`` writes them.

    Returns (steps, answer, corrupted step indices). After a corruption the rest is recomputed
    from the stated (wrong) values (``continue_from``); later steps may be corrupted too. At most
    4 x (gold length) + 8 steps are considered for corruption (a noisy agent can wander).
    """
    steps = list(example.steps)
    answer = example.answer
    corrupted: list[int] = []
    if epsilon <= 0.0 or not steps:
        return steps, answer, corrupted
    limit = 4 * len(steps) + 8
    i = 0
    while i < len(steps) and i < limit:
        u = pick.random()
        protected = is_marker(steps[i]) or (i + 1 < len(steps) and is_marker(steps[i + 1]))
        if u < epsilon and not protected:
            current = replace(example, steps=tuple(steps))
            steps[i] = generator.corrupt_step(current, i, content)
            rest, answer = generator.continue_from(example, steps[: i + 1])
            steps[i + 1 :] = rest
            corrupted.append(i)
        i += 1
    return steps, answer, corrupted


def _correct_one(
    generator: BaseGenerator, example: Example, config: CorrectionConfig, seed: int, index: int
) -> tuple[Example | None, dict[str, Any]]:
    pick = random.Random(derive_seed("correction/pick", seed, index, example.uid))
    content = random.Random(derive_seed("correction/content", seed, index, example.uid))
    expert = random.Random(derive_seed("correction/expert", seed, index, example.uid))
    steps, answer, corrupted = noisy_trace(generator, example, config.epsilon, pick, content)
    generated = generator.with_steps(example, steps, answer)
    rec: dict[str, Any] = {
        "steps_generated": len(steps),
        "steps_corrupted": len(corrupted),
        "traces_corrupted": int(bool(corrupted)),
        "steps_read": 0,
        "interventions": 0,
        "answers_checked": 0,
    }
    noticed: int | None = None
    kept = True
    if config.mode == "outcome_filter":
        rec["answers_checked"] = 1
        kept = generator.verify(example, _completion(generated))
    elif config.mode in ("process_correction", "retry_kept"):
        errors = wrong_steps(generator, generated)
        for i, wrong in enumerate(errors):
            # one draw per step read, wrong or not, so recall couples across settings
            u = expert.random()
            if wrong and u < config.recall:
                noticed = i
                break
        if noticed is None:
            rec["steps_read"] = len(steps)
        else:
            rest, answer = generator.correct_from(example, steps[:noticed])
            if config.mode == "process_correction":
                steps = [*steps[:noticed], *rest]
            else:
                steps = [*steps[: noticed + 1], RETRY_MARKER + "\n", *rest]
            rec["interventions"] = 1
            # read up to the wrong step, write the fix, read the regenerated rest
            rec["steps_read"] = noticed + 1 + max(len(rest) - 1, 0)
    out = None
    if kept:
        out = generator.with_steps(
            example,
            steps,
            answer,
            correction={
                "mode": config.mode,
                "epsilon": config.epsilon,
                "recall": config.recall,
                "corrupted_steps": corrupted,
                "noticed_step": noticed,
                "fixed": noticed is not None,
                "kept": True,
            },
        )
        rec["kept_with_residual_error"] = int(any(wrong_steps(generator, out)))
        rec["kept_with_wrong_answer"] = int(not generator.verify(example, _completion(out)))
    rec["kept"] = int(kept)
    return out, rec


def _stats(records: Sequence[dict[str, Any]], config: CorrectionConfig) -> dict[str, float]:
    s: dict[str, float] = {k: 0 for k in _SUMMED}
    for rec in records:
        s["n_generated"] += 1
        s["n_kept"] += rec["kept"]
        for k in _SUMMED[2:]:
            s[k] += rec.get(k, 0)
    s.update(derived_stats(s, config))
    return s


def derived_stats(s: dict[str, float], config: CorrectionConfig) -> dict[str, float]:
    """Costs and rates from the additive counts ``SUMMED_STATS`` (so batches can be summed)."""
    expert = (
        config.read_seconds_per_step * s["steps_read"]
        + config.fix_seconds_per_step * s["interventions"]
        + config.check_answer_seconds * s["answers_checked"]
    )
    machine = config.generate_seconds_per_trace * s["n_generated"]
    n_kept = s["n_kept"]
    nan = float("nan")
    return {
        "keep_rate": n_kept / s["n_generated"] if s["n_generated"] else nan,
        "interventions_per_1000_steps": (
            1000.0 * s["interventions"] / s["steps_generated"] if s["steps_generated"] else 0.0
        ),
        "expert_seconds_total": expert,
        "machine_seconds_total": machine,
        "expert_seconds_per_kept_trace": expert / n_kept if n_kept else nan,
        "total_seconds_per_kept_trace": (expert + machine) / n_kept if n_kept else nan,
        "residual_error_rate": s["kept_with_residual_error"] / n_kept if n_kept else nan,
        "answer_error_rate": s["kept_with_wrong_answer"] / n_kept if n_kept else nan,
    }


def apply_correction(
    generator: BaseGenerator, examples: Sequence[Example], config: CorrectionConfig, seed: int
) -> CorrectionResult:
    """Corrupt ``examples`` (gold traces of ``generator``) and run the expert of ``config``."""
    if not isinstance(config, CorrectionConfig):
        raise UserError(f"apply_correction: config must be a CorrectionConfig, got {config!r}")
    kept: list[Example] = []
    records = []
    for index, ex in enumerate(examples):
        out, rec = _correct_one(generator, ex, config, int(seed), index)
        records.append(rec)
        if out is not None:
            kept.append(out)
    return CorrectionResult(kept, _stats(records, config), config, records)


# ``produce``'s stopping rule and chunk sizes: choices, not measurements. A keep rate under
# _MIN_KEEP_RATE (2%) means 50+ traces generated per kept one, the same ratio as the default cap
# of _CAP_PER_TRACE (50) generated traces per asked one; it is judged only after
# _MIN_RATE_SAMPLE (1,000) traces, when a 2% estimate has a binomial standard error of
# sqrt(0.02 * 0.98 / 1000) = 0.44 points. A chunk asks for the expected need plus a 20% margin
# (_CHUNK_MARGIN) so that one chunk usually suffices, and at least _MIN_CHUNK (16) traces.
_MIN_KEEP_RATE = 0.02
_CAP_PER_TRACE = 50
_MIN_CAP = 2000
_MIN_RATE_SAMPLE = 1000
_CHUNK_MARGIN = 1.2
_MIN_CHUNK = 16


def produce(
    generator: BaseGenerator,
    n: int,
    config: CorrectionConfig,
    seed: int,
    split: str = "train",
    *,
    max_generated: int | None = None,
) -> CorrectionResult:
    """Generate and correct until ``n`` traces are kept; stats cover exactly what was used.

    Traces are generated in chunks (seeded by ``seed`` and the chunk number); generation stops
    at the ``n``-th kept trace. At most ``max_generated`` traces (default max(50 n, 2000)) are
    generated, and a mode that keeps under 2% of 1,000 or more traces stops early: both are a
    ``UserError`` naming the keep rate. Problems may repeat across chunks (use the uids to
    de-duplicate if needed).
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise UserError(f"produce: n={n!r} must be a non-negative integer")
    cap = max(_CAP_PER_TRACE * n, _MIN_CAP) if max_generated is None else max_generated
    kept: list[Example] = []
    records: list[dict[str, Any]] = []
    chunk = 0
    while len(kept) < n:
        generated = len(records)
        rate = len(kept) / generated if generated else 1.0
        if generated >= cap or (generated >= _MIN_RATE_SAMPLE and rate < _MIN_KEEP_RATE):
            raise UserError(
                f"correction: mode={config.mode} kept {len(kept)} of {generated} generated "
                f"traces (keep rate {rate:.3f}, epsilon={config.epsilon}); {n} were asked for. "
                "Lower correction.epsilon or use mode=process_correction"
            )
        need = n - len(kept)
        expected = _CHUNK_MARGIN * need / max(rate, _MIN_KEEP_RATE)
        size = min(cap - generated, max(_MIN_CHUNK, math.ceil(expected)))
        chunk_seed = derive_seed("produce", generator.name, split, int(seed), chunk)
        examples = generator.generate(size, seed=chunk_seed, split=split)
        for index, ex in enumerate(examples):
            out, rec = _correct_one(generator, ex, config, chunk_seed, index)
            records.append(rec)
            if out is not None:
                kept.append(out)
                if len(kept) == n:
                    break
        chunk += 1
    return CorrectionResult(kept, _stats(records, config), config, records)
