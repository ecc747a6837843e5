"""The frontier-data contract shared by every generator: ``Example``, rendering, verifiers.

A frontier example is a problem (``prompt``), a process (``steps``, one line each) and a final
answer. Every generator renders the *same* example two ways:

- ``trace``:        prompt + steps + ``"A: " + answer + "\\n"`` (the process is written down);
- ``outputs_only``: prompt + ``"A: " + answer + "\\n"`` (how the web records results).

So the two renderings differ only by the process, the one variable the sweep compares
(scaling-lab DESIGN.md section 2). The answer line is always the last line and is the only line
that starts with ``ANSWER_PREFIX``; ``segments`` tags it ``answer`` for loss masking.

Splits. A problem's id (``uid``) is sha256 of its canonical key (first 24 hex digits); a
problem is held out iff the first 8 bytes of ``sha256(HELDOUT_SALT + uid)``, read as a big-endian
integer, are 0 mod 10 (about 10% of every problem space). ``generate``
draws problems and rejects the ones of the other split, so train and held-out are disjoint by
construction, for every seed and every generator parameter that does not change the problem
(e.g. the arithmetic answer format).

Step checking (``verify_steps``) is strict: a step is correct iff it is what a correct solver
would write at that point *given the problem* (not merely consistent with earlier wrong steps),
so an error that propagates makes every step it touches wrong. The back-off marker
``RETRY_MARKER`` retracts the previous step: it is itself correct iff the step it retracts was
wrong, and the retracted step no longer counts as written for the steps after it.

Determinism: problems come from ``random.Random`` seeded with a sha256 of (generator, split,
seed) and are drawn with ``int(random() * n)`` (Python's Mersenne Twister and IEEE doubles are
the same on every platform); no salted ``hash()`` and no set iteration order reaches the data
(a test compares digests under two ``PYTHONHASHSEED`` values).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Protocol, runtime_checkable

from scaling.core.errors import UserError

ANSWER_PREFIX = "A: "
RETRY_MARKER = "WAIT, that step is wrong."
FORMS = ("trace", "outputs_only")
SPLITS = ("train", "heldout")
ROLES = ("prompt", "trace", "answer")
HELDOUT_SALT = "scaling-lab/heldout/v1/"
HELDOUT_MODULUS = 10
TRACE_BYTE_BUDGET = 256

# Rejection sampling limits: a duplicate draw is redrawn (same difficulty) up to
# _DUPLICATE_REDRAWS times before the difficulty counts as used up and duplicates are accepted;
# a split with no problem at all after _MAX_DRAWS consecutive draws is an error.
_DUPLICATE_REDRAWS = 16
_MAX_DRAWS = 20_000


@dataclass(frozen=True)
class Example:
    """One problem with its process and answer; see the module docstring for the renderings.

    ``uid`` is the hashed canonical problem key (train/held-out disjointness); ``steps`` are
    lines ending in ``"\\n"`` (possibly none); ``answer`` has no marker and no newline;
    ``meta`` is JSON-serialisable and holds at least ``generator``, ``difficulty`` and
    ``problem`` (the structured problem the verifiers recompute the gold process from).
    """

    uid: str
    prompt: str
    steps: tuple[str, ...]
    answer: str
    meta: dict


def make_example(uid: str, prompt: str, steps: tuple[str, ...], answer: str, meta: dict) -> Example:
    """``Example(uid, prompt, steps, answer, meta)`` without the frozen-dataclass ``__init__``
    (five ``object.__setattr__`` calls), for the generators' hot loops; an equal object."""
    ex = object.__new__(Example)
    ex.__dict__.update(uid=uid, prompt=prompt, steps=steps, answer=answer, meta=meta)
    return ex


@runtime_checkable
class Generator(Protocol):
    """What the training and evaluation code relies on (see ``BaseGenerator``)."""

    name: str

    def generate(
        self, n: int, seed: int, split: str = "train", difficulty: int | None = None
    ) -> list[Example]: ...

    def render(self, example: Example, form: str = "trace") -> str: ...

    def segments(self, example: Example, form: str = "trace") -> list[tuple[str, str]]: ...

    def verify(self, example: Example, completion: str) -> bool: ...

    def verify_steps(self, example: Example, completion: str) -> list[bool]: ...


def derive_seed(*parts: object) -> int:
    """A 63-bit seed from any parts, identical in every process (sha256, never ``hash``)."""
    digest = hashlib.sha256("/".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def problem_uid(key: str) -> str:
    """The stable id of a problem: the first 96 bits of sha256 of its canonical key, in hex."""
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def is_heldout_uid(uid: str) -> bool:
    """Held-out iff ``int(sha256(HELDOUT_SALT + uid)[:8 bytes]) % 10 == 0`` (1 problem in 10)."""
    digest = hashlib.sha256((HELDOUT_SALT + uid).encode()).digest()
    return int.from_bytes(digest[:8], "big") % HELDOUT_MODULUS == 0


def is_heldout(example: Example) -> bool:
    """Whether ``example``'s problem belongs to the held-out split (any generator)."""
    return is_heldout_uid(example.uid)


def split_of(example: Example) -> str:
    """``"heldout"`` or ``"train"``: the split ``example``'s problem belongs to."""
    return "heldout" if is_heldout(example) else "train"


def answer_line(completion: str) -> str | None:
    """The text after ``"A: "`` on the first line that starts with it, or None.

    A last line without its newline counts as a line (a completion may stop at end-of-text).
    """
    if not isinstance(completion, str):
        return None
    start = 0
    n = len(completion)
    while start <= n:
        end = completion.find("\n", start)
        if end < 0:
            end = n
        if completion.startswith(ANSWER_PREFIX, start, end):
            return completion[start + len(ANSWER_PREFIX) : end]
        start = end + 1
    return None


def step_lines(completion: str) -> list[str]:
    """The lines of ``completion`` before its first answer line (without newlines).

    An unterminated last line is kept (a truncated step); a trailing empty string is not.
    """
    if not isinstance(completion, str):
        return []
    lines = completion.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    out = []
    for line in lines:
        if line.startswith(ANSWER_PREFIX):
            break
        out.append(line)
    return out


def is_marker(line: str) -> bool:
    """Whether a step line is the back-off marker (``RETRY_MARKER``)."""
    return line.strip() == RETRY_MARKER


def effective_lines(lines: Sequence[str]) -> list[str]:
    """Step lines with every marker and the line it retracts removed (newlines stripped)."""
    out: list[str] = []
    for raw in lines:
        line = raw.rstrip("\n")
        if is_marker(line):
            if out:
                out.pop()
        else:
            out.append(line)
    return out


def pick_distinct(rand: Any, items: Sequence[Any], k: int) -> list[Any]:
    """``k`` distinct items in random order (partial Fisher-Yates on ``rand() in [0, 1)``);
    like ``Random.sample`` but on ``random()`` only, which is the same on every platform."""
    pool = list(items)
    n = len(pool)
    for i in range(k):
        j = i + int(rand() * (n - i))
        pool[i], pool[j] = pool[j], pool[i]
    return pool[:k]


def check_example(example: Example, budget: int | None = None) -> None:
    """Raise AssertionError unless ``example`` satisfies the format contract (used by tests)."""
    assert example.prompt.endswith("\n") and example.prompt.strip(), example
    assert "\n" not in example.answer and example.answer == example.answer.strip(), example
    for step in example.steps:
        assert step.endswith("\n") and step.count("\n") == 1 and step.strip(), step
        assert not step.startswith(ANSWER_PREFIX), step
    for line in example.prompt.split("\n"):
        assert not line.startswith(ANSWER_PREFIX), example.prompt
    assert isinstance(example.meta.get("generator"), str)
    assert isinstance(example.meta.get("difficulty"), int)
    if budget is not None:
        text = example.prompt + "".join(example.steps) + ANSWER_PREFIX + example.answer + "\n"
        assert len(text.encode()) <= budget, (len(text.encode()), text)


def _as_int(value: Any, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise UserError(f"{field}={value!r}: must be an integer in [{low}, {high}]")
    return value


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
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise UserError(f"{self.name}.generate: n={n!r} must be a non-negative integer")
        if split not in SPLITS:
            raise UserError(f"split={split!r}: must be one of {', '.join(SPLITS)}")
        lo, hi = self.DIFFICULTY_RANGE
        if difficulty is not None:
            difficulty = _as_int(difficulty, f"{self.name}.difficulty", lo, hi)
        fixed = difficulty if difficulty is not None else self.difficulty
        want_heldout = split == "heldout"
        rng = random.Random(derive_seed(self.name, split, int(seed)))
        seen: set[str] = set()  # keys accepted in this call
        used_up: set[int] = set()  # difficulties whose space ran out in this call
        split_cache: dict[str, str | None] = {}  # key -> uid if in this split, else None
        sample = self._sample
        mixture = self._mixture
        rand = rng.random
        out: list[Example] = []
        while len(out) < n:
            d = fixed if fixed is not None else mixture[int(rand() * len(mixture))]
            duplicates = 0
            draws = 0
            while True:
                draws += 1
                if draws > _MAX_DRAWS:
                    raise UserError(
                        f"{self.name}: no {split} problem found in {_MAX_DRAWS} draws at "
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
                    if is_heldout_uid(uid) != want_heldout:
                        uid = None
                    split_cache[key] = uid
                if uid is not None:
                    break
            seen.add(key)
            out.append(self._build(uid, key, problem, d))
        return out

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
        for _ in range(32):
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
