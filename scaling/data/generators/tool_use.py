"""Questions answered by calling tools: a lookup over a synthetic knowledge base and a calculator.

In the style of Toolformer (Schick et al. 2023, "Toolformer: Language Models Can Teach
Themselves to Use Tools", Sec. 2: API calls with their results written inline) and ReAct-like
traces (Yao et al. 2023): the trace is the list of calls, each with the result the real tool
returned, and ``verify_steps`` replays every call against the real tools::

    What is the price of Vell plus the weight of Orn?
    CALL lookup(Vell.price) -> 4521
    CALL lookup(Orn.weight) -> 812
    CALL calc(4521+812) -> 5333
    A: 5333

The knowledge base (``KB``) is 30 invented products with a price (1000..9999) and a weight
(10..999), derived from sha256 so it is identical everywhere. ``difficulty`` = number of
lookups: 1 (``X of E times k``), 2 (``X of E plus/minus Y of F``) or 3 (three terms, left to
right); every question needs ``difficulty`` lookups and max(1, difficulty - 1) calculator calls,
lookups first in question order, then the calculations left to right (the canonical order
``verify_steps`` checks against).

Lengths in bytes (measured over 10,000 default examples, ``generate(10_000, seed=0)``, train
split, difficulty uniform on 1..3; seed 1 gives the same ranges): prompt 34-78 (mean 53), 2-5
steps of 22-32 bytes, trace 95-243 (mean 161), completion at most 168.

Noisy steps: a slipped digit in a tool result, a lookup of the wrong attribute, or a calculation
with the wrong operator (with the real result of that wrong call). Later calculations use the
stated results, so the error reaches the answer.
"""

from __future__ import annotations

import hashlib
import random
import re
from typing import Any, ClassVar

from scaling.data.generators.base import BaseGenerator, Example, make_example

ENTITIES = (
    "Xand", "Bolo", "Vell", "Orn", "Kira", "Tam", "Dun", "Pell", "Zor", "Mira",
    "Quon", "Fen", "Ras", "Lute", "Brin", "Cole", "Dax", "Elm", "Gorn", "Hale",
    "Ivo", "Jas", "Kel", "Lorn", "Nox", "Oda", "Prax", "Sel", "Tovi", "Ulm",
)  # fmt: skip
ATTRIBUTES = {"price": (1000, 9999), "weight": (10, 999)}
_ATTR_NAMES = tuple(ATTRIBUTES)
_CALL = re.compile(r"^CALL ([a-z]+)\((.*)\) -> (.*)$")
_EXPR = re.compile(r"^(-?\d{1,12})([+\-*])(-?\d{1,12})$")
_WORDS = {"+": "plus", "-": "minus"}


def _kb_value(entity: str, attribute: str) -> int:
    lo, hi = ATTRIBUTES[attribute]
    digest = hashlib.sha256(f"scaling-lab/kb/v1/{entity}.{attribute}".encode()).digest()
    return lo + int.from_bytes(digest[:8], "big") % (hi - lo + 1)


KB: dict[str, dict[str, int]] = {e: {a: _kb_value(e, a) for a in ATTRIBUTES} for e in ENTITIES}


def lookup(arg: str) -> str:
    """The knowledge-base tool: ``lookup("Vell.price")`` -> ``"4521"`` (else ``"error"``)."""
    entity, _, attribute = arg.partition(".")
    value = KB.get(entity, {}).get(attribute)
    return "error" if value is None else str(value)


def calc(expr: str) -> str:
    """The calculator tool: ``calc("4521+812")`` -> ``"5333"``; one + - * on two integers."""
    m = _EXPR.match(expr.replace(" ", ""))
    if m is None:
        return "error"
    x, op, y = int(m.group(1)), m.group(2), int(m.group(3))
    return str(x + y if op == "+" else x - y if op == "-" else x * y)


TOOLS = {"lookup": lookup, "calc": calc}


def _line(call: str, result: str) -> str:
    return f"CALL {call} -> {result}"


def _run(call: str) -> str:
    tool, _, rest = call.partition("(")
    return TOOLS[tool](rest[:-1]) if tool in TOOLS and rest.endswith(")") else "error"


class ToolUse(BaseGenerator):
    """Knowledge-base lookups and calculations, results written into the trace."""

    name: ClassVar[str] = "tool_use"
    PARAMS: ClassVar[tuple[str, ...]] = ("difficulty",)
    DIFFICULTY_RANGE: ClassVar[tuple[int, int]] = (1, 4)
    DEFAULT_MIXTURE: ClassVar[tuple[int, ...]] = (1, 2, 3)

    def _sample(self, rng: random.Random, difficulty: int) -> tuple[str, dict]:
        rand = rng.random
        terms: list[list[str]] = []
        while len(terms) < difficulty:
            t = [ENTITIES[int(rand() * len(ENTITIES))], _ATTR_NAMES[int(rand() * 2)]]
            if t not in terms:
                terms.append(t)
        ops = ["+-"[int(rand() * 2)] for _ in range(difficulty - 1)]
        factor = 2 + int(rand() * 8) if difficulty == 1 else 0
        problem = {"terms": terms, "ops": ops, "factor": factor}
        key = "tool_use/" + ",".join(f"{e}.{a}" for e, a in terms) + "/" + "".join(ops)
        return f"{key}/{factor}", problem

    def _build(self, uid: str, key: str, problem: dict, difficulty: int) -> Example:
        terms = problem["terms"]
        q = f"the {terms[0][1]} of {terms[0][0]}"
        if problem["factor"]:
            q += f" times {problem['factor']}"
        for (e, a), op in zip(terms[1:], problem["ops"], strict=True):
            q += f" {_WORDS[op]} the {a} of {e}"
        steps, answer = self._solve(problem)
        return make_example(
            uid,
            f"What is {q}?\n",
            tuple([s + "\n" for s in steps]),
            answer,
            {"generator": self.name, "difficulty": difficulty, "problem": problem},
        )

    @staticmethod
    def _solve(problem: dict, stated: dict[int, str] | None = None) -> tuple[list[str], str]:
        """Lines of the trace; ``stated`` overrides results by step index (errors propagate)."""
        stated = stated or {}
        lines: list[str] = []

        def call(c: str) -> int | None:
            j = len(lines)
            result = stated[j] if j in stated else _run(c)
            lines.append(_line(c, result))
            try:
                return int(result)
            except ValueError:
                return None

        values = [call(f"lookup({e}.{a})") for e, a in problem["terms"]]
        acc = values[0]
        if problem["factor"]:
            acc = call(f"calc({acc}*{problem['factor']})")
        for op, v in zip(problem["ops"], values[1:], strict=True):
            acc = call(f"calc({acc}{op}{v})")
        return lines, str(acc)

    def gold(self, example: Example) -> tuple[list[str], str]:
        return self._solve(example.meta["problem"])

    def params(self) -> dict[str, Any]:
        return {"difficulty": self.difficulty}

    def _check(self, example: Example, prior: list[str], line: str) -> bool:
        gold, _ = self._gold(example)
        j = len(prior)
        m = _CALL.match(line)
        if j >= len(gold) or m is None:
            return False
        call = f"{m.group(1)}({m.group(2)})"
        gold_call = _CALL.match(gold[j])
        # the right call at this point, and the result the real tool returns for it
        return call == f"{gold_call.group(1)}({gold_call.group(2)})" and m.group(3) == _run(call)

    def _continue(self, example: Example, prior: list[str]) -> tuple[list[str], str]:
        problem = example.meta["problem"]
        n_calls = len(self._solve(problem)[0])
        stated: dict[int, str] = {}
        for j, line in enumerate(prior[:n_calls]):
            m = _CALL.match(line)
            if m is not None:
                stated[j] = m.group(3)
        # replay with the stated results of the written calls; wrong *calls* in the prefix are
        # represented by their stated results, which is what later calculations consume
        lines, answer = self._solve(problem, stated)
        return lines[len(prior) :], answer

    def _corrupt(self, example: Example, prior: list[str], line: str, rng: random.Random) -> str:
        m = _CALL.match(line)
        if m is None:
            gold, _ = self.gold(example)
            return self._corrupt(example, prior, gold[min(len(prior), len(gold) - 1)], rng)
        tool, arg, result = m.groups()
        if rng.random() < 0.5 or result == "error":  # a slipped digit in the result
            digits = list(result.lstrip("-") or "0")
            i = rng.randrange(len(digits))
            choices = [d for d in "0123456789" if d != digits[i] and not (i == 0 and d == "0")]
            digits[i] = rng.choice(choices or ["1"])
            sign = "-" if result.startswith("-") else ""
            return _line(f"{tool}({arg})", sign + "".join(digits))
        if tool == "lookup":  # the wrong attribute of the right entity
            entity, _, attribute = arg.partition(".")
            other = next(a for a in ATTRIBUTES if a != attribute)
            wrong_call = f"lookup({entity}.{other})"
            return _line(wrong_call, _run(wrong_call))
        e = _EXPR.match(arg)  # the wrong operator
        if e is None:
            return _line(f"{tool}({arg})", "0" if result != "0" else "1")
        x, op, y = e.groups()
        wrong_op = rng.choice([o for o in "+-*" if o != op])
        wrong_call = f"calc({x}{wrong_op}{y})"
        return _line(wrong_call, _run(wrong_call))
