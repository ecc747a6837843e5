"""Field checks shared by the config dataclasses: each failure is one ``UserError`` line naming the
field and what is allowed."""

from __future__ import annotations

import math
import numbers
import os
from pathlib import Path
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


def whole_number(value: Any, field_name: str) -> int:
    """``value`` as an int >= 0 (a count such as bootstrap resamples; numpy integers too); a
    bool, text, a float (NaN, 2.5 or 200.0 alike) or a negative number is a ``UserError``
    naming the field."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 0:
        raise UserError(f"{field_name}: must be >= 0, a whole number (e.g. 200), got {value!r}")
    return int(value)


def output_directory(path: str | os.PathLike, holds: str, option: str = "") -> None:
    """``UserError`` unless ``path``, or the nearest of its parents that exists, is a directory
    (so that ``holds``, e.g. "the figures", can be written there); ``option`` names the flag."""
    out = Path(path)
    p = out
    while not p.exists() and p != p.parent:
        p = p.parent
    if not p.is_dir():
        where = "" if p == out else f" ({p})"
        name = f"{option} {out}".strip()
        raise UserError(f"{name}: a file{where}, not a directory; pass a directory for {holds}")


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
