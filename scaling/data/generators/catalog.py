"""The base generators by name (every generator but ``retry``, which wraps one of them) and the
check of a generator's parameters, shared by ``generators.get`` and ``retry``."""

from __future__ import annotations

from typing import Any

from scaling.core.errors import UserError
from scaling.data.generators.agent import Agent
from scaling.data.generators.arithmetic import Arithmetic
from scaling.data.generators.base import BaseGenerator
from scaling.data.generators.igsm import IGSM
from scaling.data.generators.tool_use import ToolUse

BASE_GENERATORS: dict[str, type[BaseGenerator]] = {
    cls.name: cls for cls in (Agent, Arithmetic, IGSM, ToolUse)
}

__all__ = ["BASE_GENERATORS", "build"]


def build(cls: type[BaseGenerator], name: str, params: dict[str, Any]) -> BaseGenerator:
    """``cls(**params)``; a parameter ``cls`` does not take is a ``UserError``."""
    unknown = sorted(set(params) - set(cls.PARAMS))
    if unknown:
        raise UserError(
            f"{name}: unknown parameter {unknown[0]!r}; allowed: {', '.join(cls.PARAMS)}"
        )
    return cls(**params)
