"""Multi-digit addition and multiplication in the formats of Lee et al. 2023.

Lee, Sreenivasan, Lee, Lee & Papailiopoulos, "Teaching Arithmetic to Small Transformers"
(ICLR 2024, arXiv:2307.03381):

- ``plain`` (their Sec. 4): ``128+367`` -> ``A: 495``; no process.
- ``reversed`` (Sec. 4, LSB-first output): the answer is written least significant digit
  first, ``A: 594``; ``verify`` compares the digit string as written (un-reversing both sides
  gives the same verdict).
- ``scratchpad`` (Sec. 5, "detailed scratchpad", compacted): one step per digit position,
  least significant first, ``x+y+c=s, d cK`` = digits ``x`` and ``y`` with carry-in ``c`` sum to
  ``s``, writing digit ``d`` and carry-out ``K``. Multiplication writes the partial products
  (``128*60=7680``, one per digit of the second operand) and then their sum.

The prompt is ``a+b\\n`` (or ``a*b\\n``) in every format, so outputs-only renderings of the
scratchpad and plain formats are identical.

Sampling (Lee et al. Sec. 4, "balanced digits"): the difficulty ``d`` (digits of the longer
operand) is uniform on 1..``digits``; one operand has exactly ``d`` digits, the other a uniform
1..``d`` digits (1-digit numbers include 0). The 1-digit space has only 100 problems (~90 in
the train split), so they repeat in any call of more than a few hundred examples (see
``BaseGenerator.generate``); the digit mixture stays exactly uniform.

Lengths in bytes (measured over 10,000 default examples, ``generate(10_000, seed=0)``, train
split; seed 1 gives the same ranges; ``digits=3``, addition, scratchpad): prompt 4-8 (mean 6),
1-3 steps of 14-15 bytes, trace 23-61 (mean 41), completion after the prompt at most 53;
outputs-only 9-16. With ``ops=("add", "mul")``: trace 15-82 (mean 39). ``digits=2``: trace
23-43, completion at most 37.

Noisy steps (``corrupt_step``): a digit-sum slip, a flipped carry, a misread digit (addition);
a one-digit slip in a partial product or in the sum (multiplication). ``continue_from`` carries
the stated carry/partial products forward, so the answer is then wrong.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from scaling.core.errors import UserError
from scaling.data.generators.base import BaseGenerator, Example, make_example, problem_uid
from scaling.data.generators.base import is_heldout_uid as _is_heldout_uid

OPS = ("add", "mul")
FORMATS = ("scratchpad", "plain", "reversed")
_SYMBOL = {"add": "+", "mul": "*"}
_ADD_STEP = re.compile(r"^(\d)\+(\d)\+(\d)=(\d+), (\d) c(\d)$")
_PARTIAL = re.compile(r"^(\d+)\*(\d+)=(\d+)$")
_SUM = re.compile(r"^(\d+(?:\+\d+)+)=(\d+)$")
_LEE_LINE = re.compile(r"^\s*\$?(\d+)\s*\+\s*(\d+)\s*=\s*(\d+)\s*\$?\s*$")  # "$a+b=c$" too


def problem_key(a: int, b: int, op: str = "add") -> str:
    """The canonical key of ``a op b`` (the same in every answer format)."""
    return f"arithmetic/{op}/{a}/{b}"


def is_heldout_problem(a: int, b: int, op: str = "add") -> bool:
    """Whether ``a op b`` is in our held-out split (so never in the train split)."""
    return _is_heldout_uid(problem_uid(problem_key(a, b, op)))


def _digits(x: int) -> list[int]:
    """Decimal digits, least significant first."""
    return [int(ch) for ch in reversed(str(x))]


def _add_line(x: int, y: int, c: int) -> tuple[str, int, int]:
    s = x + y + c
    return f"{x}+{y}+{c}={s}, {s % 10} c{s // 10}", s % 10, s // 10


# (step with newline, carry-out) for every digit pair and carry-in: the scratchpad is lookups
_ADD_TABLE = {
    (chr(48 + x), chr(48 + y), c): (_add_line(x, y, c)[0] + "\n", (x + y + c) // 10)
    for x in range(10)
    for y in range(10)
    for c in (0, 1)
}


def _add_steps_nl(a: int, b: int) -> tuple[str, ...]:
    da, db = str(a)[::-1], str(b)[::-1]
    n = max(len(da), len(db))
    c = 0
    out = []
    for x, y in zip(da.ljust(n, "0"), db.ljust(n, "0"), strict=True):
        step, c = _ADD_TABLE[x, y, c]
        out.append(step)
    return tuple(out)


def add_steps(a: int, b: int) -> list[str]:
    """Scratchpad lines of ``a+b`` (Lee et al. 2023 Sec. 5, detailed scratchpad, compacted)."""
    return [step[:-1] for step in _add_steps_nl(a, b)]


def mul_steps(a: int, b: int) -> list[str]:
    """Partial products of ``a*b`` (one per digit of ``b``, place value included), then the sum."""
    parts = []
    lines = []
    for i, y in enumerate(_digits(b)):
        m = y * 10**i
        parts.append(a * m)
        lines.append(f"{a}*{m}={a * m}")
    if len(parts) > 1:
        lines.append("+".join(str(p) for p in parts) + f"={sum(parts)}")
    return lines


def _slip(value: int, rng: random.Random) -> int:
    """``value`` with one decimal digit changed (no new leading zero)."""
    s = list(str(value))
    i = rng.randrange(len(s))
    choices = [d for d in "0123456789" if d != s[i] and not (i == 0 and d == "0" and len(s) > 1)]
    s[i] = rng.choice(choices)
    return int("".join(s))


class Arithmetic(BaseGenerator):
    """Addition/multiplication problems rendered plain, reversed or as a scratchpad."""

    name: ClassVar[str] = "arithmetic"
    PARAMS: ClassVar[tuple[str, ...]] = ("ops", "digits", "fmt", "difficulty")
    DIFFICULTY_RANGE: ClassVar[tuple[int, int]] = (1, 20)
    DEFAULT_MIXTURE: ClassVar[tuple[int, ...]] = (1, 2, 3)

    def __init__(
        self,
        ops: Sequence[str] | str = ("add",),
        digits: int = 3,
        fmt: str = "scratchpad",
        difficulty: int | None = None,
    ) -> None:
        super().__init__(difficulty)
        ops_t = (ops,) if isinstance(ops, str) else tuple(ops)
        if not ops_t or any(op not in OPS for op in ops_t) or len(set(ops_t)) != len(ops_t):
            raise UserError(
                f"arithmetic.ops={list(ops_t)!r}: must be a non-empty list of distinct "
                f"values from {', '.join(OPS)}"
            )
        if isinstance(digits, bool) or not isinstance(digits, int) or not 1 <= digits <= 20:
            raise UserError(f"arithmetic.digits={digits!r}: must be an integer in [1, 20]")
        if fmt not in FORMATS:
            raise UserError(f"arithmetic.fmt={fmt!r}: must be one of {', '.join(FORMATS)}")
        self.ops = ops_t
        self.digits = digits
        self.fmt = fmt
        self._mixture = tuple(range(1, digits + 1))

    def params(self) -> dict[str, Any]:
        return {
            "ops": list(self.ops),
            "digits": self.digits,
            "fmt": self.fmt,
            "difficulty": self.difficulty,
        }

    # ---- problems ------------------------------------------------------------------------
    def _sample(self, rng: random.Random, difficulty: int) -> tuple[str, Any]:
        # int(random() * n) rather than randrange: the same on every platform, and 2x faster
        rand = rng.random
        ops = self.ops
        op = ops[0] if len(ops) == 1 else ops[int(rand() * len(ops))]
        other = 1 + int(rand() * difficulty)
        if difficulty == 1:
            x = int(rand() * 10)
        else:
            lo = 10 ** (difficulty - 1)
            x = lo + int(rand() * (9 * lo))
        if other == 1:
            y = int(rand() * 10)
        else:
            lo = 10 ** (other - 1)
            y = lo + int(rand() * (9 * lo))
        if rand() < 0.5:
            x, y = y, x
        return f"arithmetic/{op}/{x}/{y}", (op, x, y)

    def _answer_text(self, value: int) -> str:
        return str(value)[::-1] if self.fmt == "reversed" else str(value)

    def _build(self, uid: str, key: str, problem: Any, difficulty: int) -> Example:
        op, a, b = problem
        value = a + b if op == "add" else a * b
        if self.fmt != "scratchpad":
            steps: tuple[str, ...] = ()
        elif op == "add":
            steps = _add_steps_nl(a, b)
        else:
            steps = tuple([line + "\n" for line in mul_steps(a, b)])
        return make_example(
            uid,
            f"{a}{_SYMBOL[op]}{b}\n",
            steps,
            self._answer_text(value),
            {
                "generator": self.name,
                "difficulty": difficulty,
                "fmt": self.fmt,
                "op": op,
                "value": value,
                "problem": {"op": op, "a": a, "b": b},
            },
        )

    def make(self, a: int, b: int, op: str = "add") -> Example:
        """The example of the given problem (e.g. from a published test set)."""
        if op not in OPS:
            raise UserError(f"arithmetic op={op!r}: must be one of {', '.join(OPS)}")
        if a < 0 or b < 0:
            raise UserError(f"arithmetic operands must be non-negative, got {a} and {b}")
        key = problem_key(a, b, op)
        difficulty = max(len(str(a)), len(str(b)))
        return self._build(problem_uid(key), key, (op, a, b), difficulty)

    def load_problems(self, path: str | Path) -> list[Example]:
        """A test file of ``a+b=c`` lines (Lee et al. 2023's format) rendered in this format."""
        p = Path(path)
        if not p.is_file():
            raise UserError(f"load_lee2023: {p} is not a file")
        out = []
        for lineno, raw in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
            if not raw.strip():
                continue
            m = _LEE_LINE.match(raw)
            if m is None:
                raise UserError(f"{p}:{lineno}: expected 'a+b=c', got {raw[:40]!r}")
            a, b, c = (int(g) for g in m.groups())
            if a + b != c:
                raise UserError(f"{p}:{lineno}: {a}+{b} is {a + b}, the file says {c}")
            out.append(self.make(a, b, "add"))
        return out

    def gold(self, example: Example) -> tuple[list[str], str]:
        p = example.meta["problem"]
        a, b, op = p["a"], p["b"], p["op"]
        value = a + b if op == "add" else a * b
        if self.fmt != "scratchpad":
            return [], self._answer_text(value)
        return (add_steps(a, b) if op == "add" else mul_steps(a, b)), self._answer_text(value)

    # ---- noisy continuation and corruption ------------------------------------------------
    def _continue(self, example: Example, prior: list[str]) -> tuple[list[str], str]:
        p = example.meta["problem"]
        a, b = p["a"], p["b"]
        gold, gold_answer = self.gold(example)
        if not gold:  # plain and reversed formats have no process to propagate through
            return [], gold_answer
        if p["op"] == "add":
            da, db = _digits(a), _digits(b)
            written: list[int] = []
            carry = 0
            for j, line in enumerate(prior[: len(gold)]):
                m = _ADD_STEP.match(line)
                true_line = gold[j]
                if m is None:
                    m = _ADD_STEP.match(true_line)
                written.append(int(m.group(5)))
                carry = int(m.group(6))
            rest = []
            for j in range(len(written), len(gold)):
                x = da[j] if j < len(da) else 0
                y = db[j] if j < len(db) else 0
                line, digit, carry = _add_line(x, y, carry)
                written.append(digit)
                rest.append(line)
            text = (str(carry) if carry else "") + "".join(str(d) for d in reversed(written))
            return rest, self._answer_text(int(text))
        # multiplication: partial products as stated, then their sum
        n_parts = len(_digits(b))
        parts: list[int] = []
        stated_sum: int | None = None
        for j, line in enumerate(prior[: len(gold)]):
            if j < n_parts:
                m = _PARTIAL.match(line) or _PARTIAL.match(gold[j])
                parts.append(int(m.group(3)))
            else:
                m = _SUM.match(line) or _SUM.match(gold[j])
                stated_sum = int(m.group(2))
        rest = []
        b_digits = _digits(b)
        for j in range(len(parts), n_parts):
            place = b_digits[j] * 10**j
            parts.append(a * place)
            rest.append(f"{a}*{place}={a * place}")
        if n_parts == 1:
            return rest, self._answer_text(parts[0])
        if stated_sum is None:
            stated_sum = sum(parts)
            rest.append("+".join(str(q) for q in parts) + f"={stated_sum}")
        return rest, self._answer_text(stated_sum)

    def _corrupt(self, example: Example, prior: list[str], line: str, rng: random.Random) -> str:
        m = _ADD_STEP.match(line)
        if m is not None:
            x, y, c = int(m.group(1)), int(m.group(2)), int(m.group(3))
            kind = rng.randrange(3)
            if kind == 0:  # digit-sum slip
                s = x + y + c + rng.choice((-1, 1))
                s = s if s >= 0 else 1
                return f"{x}+{y}+{c}={s}, {s % 10} c{s // 10}"
            if kind == 1:  # carry dropped or invented
                s = x + y + c
                return f"{x}+{y}+{c}={s}, {s % 10} c{1 - s // 10}"
            # a misread digit
            if rng.random() < 0.5:
                x = (x + rng.choice((1, 9))) % 10
            else:
                y = (y + rng.choice((1, 9))) % 10
            return _add_line(x, y, c)[0]
        m = _PARTIAL.match(line)
        if m is not None:
            return f"{m.group(1)}*{m.group(2)}={_slip(int(m.group(3)), rng)}"
        m = _SUM.match(line)
        if m is not None:
            return f"{m.group(1)}={_slip(int(m.group(2)), rng)}"
        # an unparseable line: replace it by a slipped version of the correct step
        gold, _ = self.gold(example)
        j = min(len(prior), len(gold) - 1)
        return self._corrupt(example, prior, gold[j], rng)


def load_lee2023(path: str | Path, fmt: str = "scratchpad") -> list[Example]:
    """Lee et al. 2023's addition test file (one ``a+b=c`` per line) as Examples in ``fmt``.

    E.g. ``data/bal/test_10000.txt`` of github.com/lee-ny/teaching_arithmetic (9,900 lines).
    uids are our canonical problem ids, so ``is_heldout`` tells which of their test problems
    fall in our held-out split (the rest may appear in our train split). A line whose stated
    sum is wrong, or that is not ``a+b=c``, is an error naming the line.
    """
    return Arithmetic(ops=("add",), fmt=fmt).load_problems(path)


def heldout_overlap(examples: Sequence[Example]) -> dict[str, int]:
    """How many of ``examples`` (e.g. Lee et al.'s test set) fall in our held-out/train splits."""
    held = sum(_is_heldout_uid(ex.uid) for ex in examples)
    return {"n": len(examples), "heldout": held, "train": len(examples) - held}
