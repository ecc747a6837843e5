"""Field checks shared by the config dataclasses: each failure is one ``UserError`` line naming the
field and what is allowed."""

from __future__ import annotations

import math
from typing import Any

from scaling.core.errors import UserError


def require(ok: bool, field_name: str, message: str) -> None:
    if not ok:
        raise UserError(f"{field_name}: {message}")


def positive_int(value: Any, field_name: str) -> None:
    require(
        isinstance(value, int) and not isinstance(value, bool) and value > 0,
        field_name,
        f"must be a positive integer, got {value!r}",
    )


def fraction(value: float, field_name: str, *, low_open: bool = False) -> None:
    ok = (0.0 < value <= 1.0) if low_open else (0.0 <= value <= 1.0)
    interval = "(0, 1]" if low_open else "[0, 1]"
    require(math.isfinite(value) and ok, field_name, f"must be in {interval}, got {value!r}")


def correction_number(value: Any, field_name: str, *, fraction: bool) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if fraction:
        if not ok or not 0.0 <= value <= 1.0:
            raise UserError(f"correction.{field_name}={value!r}: must be in [0, 1]")
    elif not ok or value < 0:
        raise UserError(f"correction.{field_name}={value!r}: must be a number >= 0")


def revision(value: Any, field_name: str) -> None:
    """A hub revision (commit sha, tag or branch): None, or a non-empty string without
    whitespace."""
    text = isinstance(value, str) and bool(value) and not any(c.isspace() for c in value)
    hint = "" if isinstance(value, str) else " (quote a numeric tag or sha)"
    require(
        value is None or text,
        field_name,
        "must be a commit sha, tag or branch (a non-empty string without whitespace) or null, "
        f"got {value!r}{hint}",
    )
