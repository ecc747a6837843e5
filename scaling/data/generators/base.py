"""The machinery every generator shares (``BaseGenerator``): split-disjoint generation by
rejection sampling, rendering, answer and step verification, noisy continuation and correction.

The contract it implements is split over three modules, re-exported here: ``example`` (what an
example is and its two renderings), ``splits`` (problem ids, the held-out rule, seeds) and
``completion`` (reading a completion's answer and step lines).

Step checking (``verify_steps``) is strict: a step is correct iff it is what a correct solver
would write at that point *given the problem* (not merely consistent with earlier wrong steps),
so an error that propagates makes every step it touches wrong. The back-off marker
``RETRY_MARKER`` retracts the previous step: it is itself correct iff the step it retracts was
wrong, and the retracted step no longer counts as written for the steps after it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, ClassVar

from scaling.core.errors import UserError
from scaling.data.generators.completion import (
    answer_line,
    effective_lines,
    is_marker,
    step_lines,
)
from scaling.data.generators.example import (
    ANSWER_PREFIX,
    FORMS,
    RETRY_MARKER,
    ROLES,
    SPLITS,
    TRACE_BYTE_BUDGET,
    Example,
    Generator,
    check_example,
    make_example,
)
from scaling.data.generators.splits import (
    HELDOUT_MODULUS,
    HELDOUT_SALT,
    derive_seed,
    is_heldout,
    is_heldout_uid,
    problem_uid,
    split_of,
)

__all__ = [
    "ANSWER_PREFIX",
    "FORMS",
    "HELDOUT_MODULUS",
    "HELDOUT_SALT",
    "RETRY_MARKER",
    "ROLES",
    "SPLITS",
    "TRACE_BYTE_BUDGET",
    "BaseGenerator",
    "Example",
    "Generator",
    "answer_line",
    "check_example",
    "derive_seed",
    "effective_lines",
    "is_heldout",
    "is_heldout_uid",
    "is_marker",
    "make_example",
    "pick_distinct",
    "problem_uid",
    "split_of",
    "step_lines",
]

# Rejection sampling limits. A duplicate draw is redrawn (same difficulty) up to
# _DUPLICATE_REDRAWS times before the difficulty counts as used up and duplicates are accepted:
# 16 repeats in a row happen with probability f**16 once a fraction f of the space has been drawn
# (3% at f = 0.8, 0.03% at f = 0.6), so a space is declared used up only when nearly exhausted.
# A split with no problem after _MAX_DRAWS consecutive draws is an error: a 1-in-10 split misses
# every one of 20,000 draws with probability 0.9**20000 (below 1e-900), and the draws cost at
# most 0.3 s (measured: 20,000 ``_sample`` calls at each generator's largest difficulty, igsm
# slowest). _CORRUPT_TRIES: ``corrupt_step`` gives up after 32 candidates; measured on 5,000
# default examples per generator (every step corrupted once, 10,000-17,000 steps each), the
# first candidate was always accepted.
_DUPLICATE_REDRAWS = 16
_MAX_DRAWS = 20_000
_CORRUPT_TRIES = 32


def pick_distinct(rand: Any, items: Sequence[Any], k: int) -> list[Any]:
    """``k`` distinct items in random order (partial Fisher-Yates on ``rand() in [0, 1)``);
    like ``Random.sample`` but on ``random()`` only, which is the same on every platform."""
    pool = list(items)
    n = len(pool)
    for i in range(k):
        j = i + int(rand() * (n - i))
        pool[i], pool[j] = pool[j], pool[i]
    return pool[:k]


def _as_int(value: Any, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise UserError(f"{field}={value!r}: must be an integer in [{low}, {high}]")
    return value


class _Draws:
    """The rejection sampler of one ``generate`` call: problems of one split, distinct within
    the call per difficulty until that difficulty's space is used up (see ``generate``)."""

    def __init__(self, sample: Any, rng: random.Random, want_heldout: bool) -> None:
        self.sample = sample
        self.rng = rng
        self.want_heldout = want_heldout
        self.seen: set[str] = set()  # keys accepted in this call
        self.used_up: set[int] = set()  # difficulties whose space ran out in this call
        self.split_cache: dict[str, str | None] = {}  # key -> uid if in this split, else None

    def draw(self, d: int, name: str, split: str) -> tuple[str, str, Any]:
        """(uid, key, problem) of the next accepted problem at difficulty ``d``."""
        seen, used_up, split_cache = self.seen, self.used_up, self.split_cache
        sample, rng = self.sample, self.rng
        duplicates = 0
        draws = 0
        while True:
            draws += 1
            if draws > _MAX_DRAWS:
                raise UserError(
                    f"{name}: no {split} problem found in {_MAX_DRAWS} draws at "
                    f"difficulty={d}; the problem space is too small for this split"
                )
            key, problem = sample(rng, d)
            if key in seen:
                if d not in used_up:
                    duplicates += 1
                    if duplicates <= _DUPLICATE_REDRAWS:
                        continue
                    used_up.add(d)
                uid = split_cache[key]
                break
            if key in split_cache:
                uid = split_cache[key]
            else:
                uid = problem_uid(key)
                if is_heldout_uid(uid) != self.want_heldout:
                    uid = None
                split_cache[key] = uid
            if uid is not None:
                break
        seen.add(key)
        return uid, key, problem


class BaseGenerator:
    """Shared machinery: split-disjoint generation, rendering, verification, step replay.

    A subclass supplies, per problem family:

    - ``_sample(rng, difficulty) -> (key, problem)``: a random problem's canonical key and
      whatever ``_build`` needs to build it (cheap: most draws of a large call are rejected);
    - ``_build(uid, key, problem, difficulty) -> Example``;
    - ``_check(ex, prior, line) -> bool``: is ``line`` the correct next step after the written
      (effective, newline-free) steps ``prior``?
    - ``_continue(ex, prior) -> (steps, answer)``: how the solver would finish the trace from
      the *stated* values in ``prior`` (errors propagate; used by the noisy generator);
    - ``_correct(ex, prior) -> (steps, answer)``: the correct rest of the trace (the expert's
      regeneration); the default is the gold steps from position ``len(prior)`` on;
    - ``_corrupt(ex, prior, line, rng) -> str``: a plausible wrong version of ``line``.
    """

    name: ClassVar[str] = "base"
    PARAMS: ClassVar[tuple[str, ...]] = ("difficulty",)
    DIFFICULTY_RANGE: ClassVar[tuple[int, int]] = (1, 1)
    DEFAULT_MIXTURE: ClassVar[tuple[int, ...]] = (1,)

    def __init__(self, difficulty: int | None = None) -> None:
        lo, hi = self.DIFFICULTY_RANGE
        self.difficulty = (
            None if difficulty is None else _as_int(difficulty, f"{self.name}.difficulty", lo, hi)
        )
        self._mixture: tuple[int, ...] = self.DEFAULT_MIXTURE

    # ---- subclass hooks ------------------------------------------------------------------
    def _sample(self, rng: random.Random, difficulty: int) -> tuple[str, Any]:
        raise NotImplementedError

    def _build(self, uid: str, key: str, problem: Any, difficulty: int) -> Example:
        raise NotImplementedError

    def gold(self, example: Example) -> tuple[list[str], str]:
        """The correct steps (newline-free) and answer of ``example``'s problem."""
        raise NotImplementedError

    def _gold(self, example: Example) -> tuple[list[str], str]:
        """``gold(example)``, remembered for the last example (step checks ask once per line)."""
        cached = self.__dict__.get("_gold_memo")
        if cached is not None and cached[0] is example:
            return cached[1]
        result = self.gold(example)
        self.__dict__["_gold_memo"] = (example, result)
        return result

    def _check(self, example: Example, prior: list[str], line: str) -> bool:
        steps, _ = self._gold(example)
        j = len(prior)
        return j < len(steps) and line == steps[j]

    def _continue(self, example: Example, prior: list[str]) -> tuple[list[str], str]:
        raise NotImplementedError

    def _correct(self, example: Example, prior: list[str]) -> tuple[list[str], str]:
        steps, answer = self._gold(example)
        return steps[len(prior) :], answer

    def _corrupt(self, example: Example, prior: list[str], line: str, rng: random.Random) -> str:
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        """The constructor parameters (for provenance)."""
        return {"difficulty": self.difficulty}

    # ---- generation ----------------------------------------------------------------------
    def generate(
        self, n: int, seed: int, split: str = "train", difficulty: int | None = None
    ) -> list[Example]:
        """``n`` examples of ``split`` (``train`` or ``heldout``), deterministic in the arguments.

        ``difficulty`` overrides the constructor's; None draws each example's difficulty from
        the default mixture (exactly: once per example, never redrawn). Within one call the
        problems of a difficulty are distinct while possible: a draw that repeats a problem of
        this call is redrawn at the same difficulty up to 16 times; when that fails the
        difficulty's space counts as used up for the rest of the call and its problems repeat
        (e.g. the 100 one-digit additions, ~90 of them in the train split).
        """
        fixed = self._generate_difficulty(n, split, difficulty)
        rng = random.Random(derive_seed(self.name, split, int(seed)))
        draws = _Draws(self._sample, rng, split == "heldout")
        mixture = self._mixture
        rand = rng.random
        out: list[Example] = []
        while len(out) < n:
            d = fixed if fixed is not None else mixture[int(rand() * len(mixture))]
            uid, key, problem = draws.draw(d, self.name, split)
            out.append(self._build(uid, key, problem, d))
        return out

    def _generate_difficulty(self, n: int, split: str, difficulty: int | None) -> int | None:
        """Check ``generate``'s arguments; the fixed difficulty of the call (None: the mixture)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise UserError(f"{self.name}.generate: n={n!r} must be a non-negative integer")
        if split not in SPLITS:
            raise UserError(f"split={split!r}: must be one of {', '.join(SPLITS)}")
        lo, hi = self.DIFFICULTY_RANGE
        if difficulty is not None:
            difficulty = _as_int(difficulty, f"{self.name}.difficulty", lo, hi)
        return difficulty if difficulty is not None else self.difficulty

    # ---- rendering -----------------------------------------------------------------------
    def segments(self, example: Example, form: str = "trace") -> list[tuple[str, str]]:
        """(text, role) pairs that concatenate to ``render(example, form)``."""
        answer = ANSWER_PREFIX + example.answer + "\n"
        if form == "trace":
            if example.steps:
                return [
                    (example.prompt, "prompt"),
                    ("".join(example.steps), "trace"),
                    (answer, "answer"),
                ]
            return [(example.prompt, "prompt"), (answer, "answer")]
        if form == "outputs_only":
            return [(example.prompt, "prompt"), (answer, "answer")]
        raise UserError(f"form={form!r}: must be one of {', '.join(FORMS)}")

    def render(self, example: Example, form: str = "trace") -> str:
        """The text of ``example`` in ``form`` (``trace`` or ``outputs_only``)."""
        if form == "trace":
            return example.prompt + "".join(example.steps) + ANSWER_PREFIX + example.answer + "\n"
        if form == "outputs_only":
            return example.prompt + ANSWER_PREFIX + example.answer + "\n"
        raise UserError(f"form={form!r}: must be one of {', '.join(FORMS)}")

    def completion(self, example: Example, form: str = "trace") -> str:
        """The rendering without the prompt: what a model should generate after the prompt."""
        return self.render(example, form)[len(example.prompt) :]

    # ---- verification --------------------------------------------------------------------
    def normalize_answer(self, text: str) -> str:
        """The comparison form of an answer string (surrounding whitespace removed)."""
        return text.strip()

    def verify(self, example: Example, completion: str) -> bool:
        """True iff the first ``"A: "`` line of ``completion`` holds exactly the right answer."""
        found = answer_line(completion)
        if found is None:
            return False
        return self.normalize_answer(found) == self.normalize_answer(example.answer)

    def check_step(self, example: Example, prior: Sequence[str], line: str) -> bool:
        """Is ``line`` a correct next step after the written steps ``prior``? Never raises."""
        try:
            return bool(self._check(example, effective_lines(prior), line.rstrip("\n")))
        except (ValueError, IndexError, KeyError, TypeError, OverflowError, AttributeError):
            return False

    def verify_steps(self, example: Example, completion: str) -> list[bool]:
        """One flag per step line before the first answer line: is that step correct?

        A ``RETRY_MARKER`` line is correct iff the step it retracts was wrong; the retracted
        step then no longer counts as written.
        """
        written: list[str] = []
        flags: list[bool] = []
        out: list[bool] = []
        for line in step_lines(completion):
            if is_marker(line):
                ok = bool(flags) and not flags[-1]
                if written:
                    written.pop()
                    flags.pop()
            else:
                try:
                    ok = bool(self._check(example, written, line))
                except (ValueError, IndexError, KeyError, TypeError, OverflowError, AttributeError):
                    ok = False
                written.append(line)
                flags.append(ok)
            out.append(ok)
        return out

    # ---- noisy generation and correction (scaling.data.correction) -------------------------
    def corrupt_step(self, example: Example, i: int, rng: random.Random) -> str:
        """A plausible wrong version of step ``i`` of ``example`` (ends with ``"\\n"``).

        The result is always wrong given the problem (``check_step`` is False) and differs from
        the current step. Marker lines cannot be corrupted.
        """
        lines = [s.rstrip("\n") for s in example.steps]
        if not 0 <= i < len(lines):
            raise IndexError(f"{self.name}: step {i} out of range (0..{len(lines) - 1})")
        if is_marker(lines[i]):
            raise ValueError(f"{self.name}: step {i} is the back-off marker")
        prior = effective_lines(lines[:i])
        for _ in range(_CORRUPT_TRIES):
            wrong = self._corrupt(example, prior, lines[i], rng)
            if (
                wrong
                and wrong != lines[i]
                and "\n" not in wrong
                and not wrong.startswith(ANSWER_PREFIX)
                and not is_marker(wrong)
                and not self.check_step(example, prior, wrong)
            ):
                return wrong + "\n"
        raise RuntimeError(f"{self.name}: could not corrupt step {i} of {example.uid}")

    def continue_from(self, example: Example, prefix: Sequence[str]) -> tuple[list[str], str]:
        """The rest of the trace and its answer as the solver would write them after ``prefix``,
        computing from the values *stated* in ``prefix`` (an error there propagates)."""
        steps, answer = self._continue(example, effective_lines(prefix))
        return [s + "\n" for s in steps], answer

    def correct_from(self, example: Example, prefix: Sequence[str]) -> tuple[list[str], str]:
        """The correct rest of the trace after ``prefix`` and the correct answer."""
        steps, answer = self._correct(example, effective_lines(prefix))
        return [s + "\n" for s in steps], answer

    def with_steps(
        self, example: Example, steps: Sequence[str], answer: str, **meta: Any
    ) -> Example:
        """A copy of ``example`` with other steps/answer (and extra ``meta`` entries)."""
        return replace(
            example,
            steps=tuple(s if s.endswith("\n") else s + "\n" for s in steps),
            answer=answer,
            meta={**example.meta, **meta},
        )

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"
