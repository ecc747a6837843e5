"""Synthetic frontier-data generators with verifiers, by name.

The contract is ``example`` (what an example is), ``splits`` (ids, held-out rule, seeds) and
``completion`` (reading a completion); ``base`` is the machinery every generator shares and
``catalog`` names the base generators that ``retry`` can wrap.

``get(name, **params)`` returns a generator; ``names()`` lists them:

- ``arithmetic``: multi-digit addition/multiplication, plain, reversed or scratchpad
  (Lee et al. 2023);
- ``igsm``: shuffled dependency-graph word problems mod 23 (Ye et al. 2024, iGSM);
- ``tool_use``: knowledge-base lookups and calculator calls with results in the trace;
- ``agent``: room-to-room episodes in a simulated world, ACT/OBS lines, checked by replay;
- ``retry``: any of the above with a wrong step, the back-off marker and the correction;
- ``mix``: a weighted mixture of the four base generators, each example verified by its own.

Every generator renders the same problems as ``trace`` or ``outputs_only``, keeps held-out
problems out of its train split by construction, and fits one default-difficulty trace in 256
bytes. The expert-correction simulation is ``scaling.data.correction``.
"""

from __future__ import annotations

from typing import Any

from scaling.core.errors import UserError
from scaling.data.generators.agent import Agent
from scaling.data.generators.arithmetic import (
    Arithmetic,
    heldout_overlap,
    is_heldout_problem,
    load_lee2023,
)
from scaling.data.generators.base import (
    ANSWER_PREFIX,
    FORMS,
    RETRY_MARKER,
    SPLITS,
    TRACE_BYTE_BUDGET,
    BaseGenerator,
    Example,
    Generator,
    is_heldout,
    is_heldout_uid,
    split_of,
)
from scaling.data.generators.catalog import BASE_GENERATORS, build
from scaling.data.generators.igsm import IGSM
from scaling.data.generators.mix import Mix
from scaling.data.generators.retry import Retry
from scaling.data.generators.tool_use import ToolUse

_REGISTRY: dict[str, type[BaseGenerator]] = {**BASE_GENERATORS, Retry.name: Retry, Mix.name: Mix}

__all__ = [
    "ANSWER_PREFIX",
    "FORMS",
    "IGSM",
    "RETRY_MARKER",
    "SPLITS",
    "TRACE_BYTE_BUDGET",
    "Agent",
    "Arithmetic",
    "BaseGenerator",
    "Example",
    "Generator",
    "Mix",
    "Retry",
    "ToolUse",
    "get",
    "heldout_overlap",
    "is_heldout",
    "is_heldout_problem",
    "is_heldout_uid",
    "load_lee2023",
    "names",
    "split_of",
]


def names() -> list[str]:
    """The registered generator names, sorted."""
    return sorted(_REGISTRY)


def get(name: str, **params: Any) -> BaseGenerator:
    """The generator ``name`` built with ``params``; a bad name or parameter is a ``UserError``."""
    cls = _REGISTRY.get(name)
    if cls is None:
        raise UserError(f"generator {name!r} is unknown; known generators: {', '.join(names())}")
    if cls is Retry:  # takes its base's parameters; the base checks them
        return Retry(**params)
    return build(cls, name, params)
