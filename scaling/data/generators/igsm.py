"""Dependency-graph word problems in the spirit of iGSM.

Ye, Xu, Li & Allen-Zhu, "Physics of Language Models: Part 2.1, Grade-School Math and the Hidden
Reasoning Process" (2024, arXiv:2407.20311). As in iGSM (their Sec. 2): quantities form a
random DAG, each derived quantity is one operation (+, -, *) on two earlier quantities or on a
quantity and a small constant, all arithmetic is mod 23, the statements are shuffled (not in
dependency order), unused quantities act as distractors, and the solution defines one quantity
per step in topological order. ``difficulty`` = number of operations the answer needs (iGSM's
``op``). The vocabulary and templates are tiny so a trace fits a 256-byte context:

    Plums: 4 more than figs. Figs: 9. Owls: 2. Jars: plums times owls. How many jars?
    Define plums = 9+4 = 13.
    Define jars = 13*2 = 3.
    A: 3

Structure: two leaves (values 0..22), then ``difficulty`` derived quantities; derived quantity
``j`` uses derived quantity ``j-1`` (the first uses the first leaf) and, with probability 0.6,
another earlier quantity (else a constant 1..9), so the queried last quantity needs exactly
``difficulty`` operations and the topological order of the needed quantities is unique. The
second leaf is a distractor when no operation uses it.

Lengths in bytes (measured over 10,000 default examples, ``generate(10_000, seed=0)``, train
split, difficulty uniform on 1..4; seed 1 gives the same ranges): prompt 53-131 (mean 91), steps
23-26 each, trace 81-237 (mean 157), completion after the prompt at most 110; the test suite
checks that default traces fit 256 bytes.

Noisy steps: a wrong result or a misread operand (the result computed from it); later steps use
the stated value, so the error reaches the answer (mod 23 with a prime modulus, + - * by a
non-zero constant or by another quantity keep a wrong value wrong unless multiplied by 0).
"""

from __future__ import annotations

import random
import re
from typing import Any, ClassVar

from scaling.data.generators.base import (
    BaseGenerator,
    Example,
    derive_seed,
    make_example,
    pick_distinct,
)

MOD = 23
# four letters each, so the length of a problem depends only on its structure and numbers
NAMES = (
    "figs", "nuts", "eggs", "buns", "pies", "cups", "jars", "pens", "hats",
    "owls", "bees", "cats", "rugs", "mugs", "yams", "oats", "logs", "keys",
)  # fmt: skip
_STEP = re.compile(r"^Define ([a-z]+) = (\d+)([+\-*])(\d+) = (\d+)\.$")
_VALUE = re.compile(r"^Define ([a-z]+) = .* = (\d+)\.$")


def _apply(op: str, x: int, y: int) -> int:
    if op == "+":
        return (x + y) % MOD
    if op == "-":
        return (x - y) % MOD
    return (x * y) % MOD


def _phrase(op: str, lhs: Any, rhs: Any) -> str:
    """The English of one operation (constants appear as '3 more than x', 'x minus y', ...)."""
    if isinstance(rhs, int) and op == "+":
        return f"{rhs} more than {lhs}"
    if isinstance(rhs, int) and op == "-":
        return f"{rhs} less than {lhs}"
    word = {"+": "plus", "-": "minus", "*": "times"}[op]
    return f"{lhs} {word} {rhs}"


def _values(problem: dict) -> dict[str, int]:
    vals = dict(problem["leaves"])
    for name, op, lhs, rhs in problem["derived"]:
        x = lhs if isinstance(lhs, int) else vals[lhs]
        y = rhs if isinstance(rhs, int) else vals[rhs]
        vals[name] = _apply(op, x, y)
    return vals


def _step(name: str, op: str, x: int, y: int) -> str:
    return f"Define {name} = {x}{op}{y} = {_apply(op, x, y)}."


class IGSM(BaseGenerator):
    """Shuffled dependency-graph problems over named quantities, mod 23 (Ye et al. 2024)."""

    name: ClassVar[str] = "igsm"
    PARAMS: ClassVar[tuple[str, ...]] = ("difficulty",)
    DIFFICULTY_RANGE: ClassVar[tuple[int, int]] = (1, 12)
    DEFAULT_MIXTURE: ClassVar[tuple[int, ...]] = (1, 2, 3, 4)

    def _sample(self, rng: random.Random, difficulty: int) -> tuple[str, dict]:
        rand = rng.random
        names = pick_distinct(rand, NAMES, difficulty + 2)
        leaves = {names[0]: int(rand() * MOD), names[1]: int(rand() * MOD)}
        derived: list[list[Any]] = []
        prev = names[0]
        known = [names[0], names[1]]
        for j in range(difficulty):
            q = names[2 + j]
            op = "+-*"[int(rand() * 3)]
            if rand() < 0.6:  # another earlier quantity (never prev itself)
                others = [k for k in known if k != prev]
                other = others[int(rand() * len(others))]
                lhs, rhs = (prev, other) if rand() < 0.5 else (other, prev)
            elif op == "*":
                lhs, rhs = 2 + int(rand() * 8), prev
            else:
                lhs, rhs = prev, 1 + int(rand() * 9)
            derived.append([q, op, lhs, rhs])
            known.append(q)
            prev = q
        problem = {"leaves": leaves, "derived": derived, "query": prev}
        leaf_part = ",".join(f"{k}={v}" for k, v in sorted(leaves.items()))
        der_part = ";".join(f"{q}={op}({lhs},{rhs})" for q, op, lhs, rhs in derived)
        return f"igsm/{leaf_part}/{der_part}/?{prev}", problem

    def _build(self, uid: str, key: str, problem: dict, difficulty: int) -> Example:
        sentences = [f"{k.capitalize()}: {v}." for k, v in problem["leaves"].items()]
        sentences += [
            f"{q.capitalize()}: {_phrase(op, lhs, rhs)}." for q, op, lhs, rhs in problem["derived"]
        ]
        # the statement order is a function of the problem, so one problem has one prompt
        random.Random(derive_seed("igsm-order", key)).shuffle(sentences)
        steps, answer = self._solve(problem)
        return make_example(
            uid,
            " ".join(sentences) + f" How many {problem['query']}?\n",
            tuple([s + "\n" for s in steps]),
            answer,
            {"generator": self.name, "difficulty": difficulty, "problem": problem},
        )

    @staticmethod
    def _solve(problem: dict) -> tuple[list[str], str]:
        vals = dict(problem["leaves"])
        steps = []
        for name, op, lhs, rhs in problem["derived"]:
            x = lhs if isinstance(lhs, int) else vals[lhs]
            y = rhs if isinstance(rhs, int) else vals[rhs]
            vals[name] = _apply(op, x, y)
            steps.append(_step(name, op, x, y))
        return steps, str(vals[problem["query"]])

    def gold(self, example: Example) -> tuple[list[str], str]:
        return self._solve(example.meta["problem"])

    def params(self) -> dict[str, Any]:
        return {"difficulty": self.difficulty}

    def _continue(self, example: Example, prior: list[str]) -> tuple[list[str], str]:
        problem = example.meta["problem"]
        derived = problem["derived"]
        belief = _values(problem)
        for j, line in enumerate(prior[: len(derived)]):
            m = _VALUE.match(line)
            if m is not None:
                belief[derived[j][0]] = int(m.group(2)) % MOD
        rest = []
        for name, op, lhs, rhs in derived[len(prior) :]:
            x = lhs if isinstance(lhs, int) else belief[lhs]
            y = rhs if isinstance(rhs, int) else belief[rhs]
            belief[name] = _apply(op, x, y)
            rest.append(_step(name, op, x, y))
        return rest, str(belief[problem["query"]])

    def _corrupt(self, example: Example, prior: list[str], line: str, rng: random.Random) -> str:
        m = _STEP.match(line)
        if m is None:
            gold, _ = self.gold(example)
            return self._corrupt(example, prior, gold[min(len(prior), len(gold) - 1)], rng)
        name, op = m.group(1), m.group(3)
        x, y, r = int(m.group(2)), int(m.group(4)), int(m.group(5))
        delta = rng.choice((1, 2, 3, -1, -2, -3))
        kind = rng.randrange(3)
        if kind == 0:  # wrong result
            return f"Define {name} = {x}{op}{y} = {(r + delta) % MOD}."
        if kind == 1:  # misread left operand
            return _step(name, op, (x + delta) % MOD, y)
        return _step(name, op, x, (y + delta) % MOD)
