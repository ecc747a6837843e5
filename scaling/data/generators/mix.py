"""Several generators as one: the frontier mixture as a single source, domain or task.

``mix`` draws each example's generator by ``weights`` (equal by default) from ``of`` (default:
every base generator: multi-step arithmetic, iGSM word problems, tool use and agent episodes),
and hands every question about an example (its verifier, step checks, corruption, gold process)
to the generator that made it (``example.meta["generator"]``). So one held-out domain or one
verified task covers the whole mixture, scored by each kind's own verifier, and a task's
accuracy is over all its problems (one binomial n, one Wilson interval), with the per-kind
split in the run record (``by_generator``).

The train/held-out rule is each base's own (a problem's uid and split do not change by being
mixed). Deterministic in ``(n, seed, split)``: the kind of each slot is drawn first, then each
base generates its share with a seed derived from the call's. ``base_params`` passes each base
its own parameters (e.g. ``{igsm: {difficulty: 1}}`` to fit a small model's context).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, ClassVar

from scaling.core.errors import UserError
from scaling.data.generators.base import BaseGenerator, Example, derive_seed
from scaling.data.generators.catalog import BASE_GENERATORS, build

__all__ = ["Mix"]


class Mix(BaseGenerator):
    """A weighted mixture of base generators, each example answered by its own generator."""

    name: ClassVar[str] = "mix"
    PARAMS: ClassVar[tuple[str, ...]] = ("of", "weights", "base_params")

    def __init__(
        self,
        of: Sequence[str] | None = None,
        weights: Sequence[float] | None = None,
        base_params: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(None)
        names = list(of) if of is not None else list(BASE_GENERATORS)
        unknown = [n for n in names if n not in BASE_GENERATORS]
        if not names or unknown:
            raise UserError(f"mix.of={names!r}: give one or more of {', '.join(BASE_GENERATORS)}")
        if len(set(names)) != len(names):
            raise UserError(f"mix.of={names!r}: a generator is listed twice")
        w = [1.0] * len(names) if weights is None else [float(x) for x in weights]
        if len(w) != len(names) or not all(x >= 0 for x in w) or sum(w) <= 0:
            raise UserError(
                f"mix.weights={list(weights or [])!r}: one non-negative weight per entry of "
                f"mix.of ({len(names)}), not all zero"
            )
        extra = dict(base_params or {})
        stray = sorted(set(extra) - set(names))
        if stray:
            raise UserError(
                f"mix.base_params.{stray[0]}: not in mix.of; give parameters for {', '.join(names)}"
            )
        self.names = tuple(names)
        self.weights = tuple(x / sum(w) for x in w)
        self.base_params = {n: dict(extra.get(n) or {}) for n in names}
        self.subs: dict[str, BaseGenerator] = {
            n: build(BASE_GENERATORS[n], n, self.base_params[n]) for n in names
        }

    def params(self) -> dict[str, Any]:
        return {
            "of": list(self.names),
            "weights": list(self.weights),
            "base_params": {n: self.subs[n].params() for n in self.names},
        }

    def sub(self, example: Example) -> BaseGenerator:
        """The generator that made ``example``."""
        name = example.meta.get("generator")
        if name not in self.subs:
            raise UserError(
                f"mix: example {example.uid} comes from {name!r}, not one of {self.names}"
            )
        return self.subs[name]

    # ---- generation ----------------------------------------------------------------------
    def generate(
        self, n: int, seed: int, split: str = "train", difficulty: int | None = None
    ) -> list[Example]:
        if difficulty is not None:
            raise UserError("mix.generate: difficulty is per generator; leave it unset")
        self._generate_difficulty(n, split, None)
        rng = random.Random(derive_seed(self.name, split, int(seed)))
        cum, acc = [], 0.0
        for w in self.weights:
            acc += w
            cum.append(acc)
        kinds = [_pick(cum, rng.random()) for _ in range(n)]
        made = {
            name: iter(
                self.subs[name].generate(
                    kinds.count(i), seed=derive_seed(self.name, name, int(seed)), split=split
                )
            )
            for i, name in enumerate(self.names)
        }
        return [next(made[self.names[i]]) for i in kinds]

    # ---- everything about an example is its own generator's ------------------------------
    def gold(self, example: Example) -> tuple[list[str], str]:
        return self.sub(example).gold(example)

    def _check(self, example: Example, prior: list[str], line: str) -> bool:
        return self.sub(example)._check(example, prior, line)

    def _continue(self, example: Example, prior: list[str]) -> tuple[list[str], str]:
        return self.sub(example)._continue(example, prior)

    def _correct(self, example: Example, prior: list[str]) -> tuple[list[str], str]:
        return self.sub(example)._correct(example, prior)

    def _corrupt(self, example: Example, prior: list[str], line: str, rng: random.Random) -> str:
        return self.sub(example)._corrupt(example, prior, line, rng)

    def verify(self, example: Example, completion: str) -> bool:
        return self.sub(example).verify(example, completion)

    def segments(self, example: Example, form: str = "trace") -> list[tuple[str, str]]:
        return self.sub(example).segments(example, form)

    def render(self, example: Example, form: str = "trace") -> str:
        return self.sub(example).render(example, form)


def _pick(cum: list[float], u: float) -> int:
    """The first index whose cumulative weight exceeds ``u`` (the last on rounding)."""
    for i, c in enumerate(cum):
        if u < c:
            return i
    return len(cum) - 1
