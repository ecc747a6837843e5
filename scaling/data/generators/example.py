"""What a frontier example is: ``Example``, its two renderings' markers, and the format contract
every generator's examples satisfy (``check_example``).

A frontier example is a problem (``prompt``), a process (``steps``, one line each) and a final
answer. Every generator renders the *same* example two ways:

- ``trace``:        prompt + steps + ``"A: " + answer + "\\n"`` (the process is written down);
- ``outputs_only``: prompt + ``"A: " + answer + "\\n"`` (how the web records results).

So the two renderings differ only by the process, the one variable the sweep compares
(scaling-lab DESIGN.md section 2). The answer line is always the last line and is the only line
that starts with ``ANSWER_PREFIX``; ``segments`` tags it ``answer`` for loss masking.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

ANSWER_PREFIX = "A: "
RETRY_MARKER = "WAIT, that step is wrong."
FORMS = ("trace", "outputs_only")
SPLITS = ("train", "heldout")
ROLES = ("prompt", "trace", "answer")
# Bytes one default-difficulty trace may take: a design budget, not a measurement (short enough
# for the small models' contexts: configs/model uses 128 tokens, so under the byte tokenizer a
# trace spans at most two windows). Every generator's default mixture is chosen to fit it,
# tests/test_generators.py::test_default_traces_fit_the_byte_budget checks it, and the measured
# maxima (10,000 default traces) are in each generator's docstring.
TRACE_BYTE_BUDGET = 256

__all__ = [
    "ANSWER_PREFIX",
    "FORMS",
    "RETRY_MARKER",
    "ROLES",
    "SPLITS",
    "TRACE_BYTE_BUDGET",
    "Example",
    "Generator",
    "check_example",
    "make_example",
]


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
