"""Traces that make a mistake, notice it, back off and correct it.

Self-correction data in the style of Ye et al. 2024, "Physics of Language Models: Part 2.2, How
to Learn From Mistakes on Grade-School Math Problems" (arXiv:2408.16293): a retry trace writes a
wrong step, then the back-off marker ``RETRY_MARKER`` (their "[BACK]"), then the correct step,
and goes on correctly. Here one step of every base trace (uniformly chosen) is preceded by a
plausible wrong version from the base generator's own ``corrupt_step``::

    128+367
    8+7+0=15, 5 c0
    WAIT, that step is wrong.
    8+7+0=15, 5 c1
    2+6+1=9, 9 c0
    1+3+0=4, 4 c0
    A: 495

The problem, its uid and its split are the base problem's (a retry trace of a held-out problem
is held out); the answer verifies as usual; ``verify_steps`` marks the wrong step False and the
marker and the correction True. Outputs-only renderings equal the base generator's.

Bases: ``arithmetic`` (scratchpad; the default), ``igsm``, ``tool_use`` and ``agent``. The
default difficulty mixture is the base's, shortened where needed so that a default trace still
fits 256 bytes with the wrong line and the marker (igsm: 1..3 operations; tool_use: 1..2
lookups; agent: 1..3 moves). Trace lengths in bytes (measured over 10,000 default examples,
``generate(10_000, seed=0)``, train split; seed 1 gives the same ranges): arithmetic base 63-102
(mean 81); igsm 130-240; tool_use 143-213; agent 148-237.
"""

from __future__ import annotations

import random
from typing import Any, ClassVar

from scaling.core.errors import UserError
from scaling.data.generators.base import (
    RETRY_MARKER,
    BaseGenerator,
    Example,
    derive_seed,
)
from scaling.data.generators.catalog import BASE_GENERATORS, build

BASES = ("arithmetic", "igsm", "tool_use", "agent")
_MIXTURES = {"igsm": (1, 2, 3), "tool_use": (1, 2), "agent": (1, 2, 3)}

__all__ = ["BASES", "RETRY_MARKER", "Retry"]


class Retry(BaseGenerator):
    """A base generator's traces with one wrong step, the back-off marker and the fix."""

    name: ClassVar[str] = "retry"

    def __init__(self, base: str = "arithmetic", **base_params: Any) -> None:
        if base not in BASES:
            raise UserError(f"retry.base={base!r}: must be one of {', '.join(BASES)}")
        super().__init__(None)
        self.base_name = base
        self.base: BaseGenerator = build(BASE_GENERATORS[base], base, base_params)
        if base == "arithmetic" and getattr(self.base, "fmt", None) != "scratchpad":
            raise UserError(
                f"retry: base arithmetic with fmt={self.base.fmt!r} has no steps to retry; "
                "use fmt=scratchpad"
            )
        if base in _MIXTURES:
            self.base._mixture = _MIXTURES[base]
        self.DIFFICULTY_RANGE = self.base.DIFFICULTY_RANGE  # type: ignore[misc]
        self.difficulty = self.base.difficulty

    def params(self) -> dict[str, Any]:
        return {"base": self.base_name, **self.base.params()}

    def generate(
        self, n: int, seed: int, split: str = "train", difficulty: int | None = None
    ) -> list[Example]:
        """The base's problems for (n, seed, split, difficulty), each with one retried step."""
        out = []
        for ex in self.base.generate(n, seed, split, difficulty):
            rng = random.Random(derive_seed(self.name, split, int(seed), ex.uid))
            out.append(self.add_retry(ex, rng))
        return out

    def add_retry(self, example: Example, rng: random.Random, i: int | None = None) -> Example:
        """``example`` with a wrong version of step ``i`` (random if None), marker, then the fix."""
        steps = list(example.steps)
        if not steps:
            raise UserError(f"retry: {self.base_name} example {example.uid} has no steps")
        if i is None:
            i = rng.randrange(len(steps))
        wrong = self.base.corrupt_step(example, i, rng)
        new_steps = [*steps[:i], wrong, RETRY_MARKER + "\n", *steps[i:]]
        meta = {**example.meta, "generator": self.name, "base": self.base_name, "wrong_step": i}
        return Example(example.uid, example.prompt, tuple(new_steps), example.answer, meta)

    def gold(self, example: Example) -> tuple[list[str], str]:
        return self.base.gold(example)

    def _check(self, example: Example, prior: list[str], line: str) -> bool:
        return self.base._check(example, prior, line)

    def _continue(self, example: Example, prior: list[str]) -> tuple[list[str], str]:
        return self.base._continue(example, prior)

    def _correct(self, example: Example, prior: list[str]) -> tuple[list[str], str]:
        return self.base._correct(example, prior)

    def _corrupt(self, example: Example, prior: list[str], line: str, rng: random.Random) -> str:
        return self.base._corrupt(example, prior, line, rng)

    def normalize_answer(self, text: str) -> str:
        return self.base.normalize_answer(text)
