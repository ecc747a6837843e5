"""Hydra's composition errors as one line naming the override and what is allowed.

Hydra prints a config error as several lines (``Could not override 'data.path'.`` / ``To
append ...`` / ``Key 'path' not in 'DataConfig'`` / ``full_key: ...``) and exits with status 1;
``scaling-train`` composes every override first (``preflight``) and turns the error into the
project's one line (``error: <field>: <what is allowed>``, status 2, ``scaling.core.errors``).
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import MissingConfigException, OverrideParseException
from omegaconf import OmegaConf
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, ValidationError

from scaling.core.errors import UserError

_SYNTAX = "https://hydra.cc/docs/advanced/override_grammar/basic/"


def _dotted_keys(node: Any, prefix: str = "") -> list[str]:
    """Every dotted key of a composed config (``data.mixture.web.kind``, ...)."""
    if not OmegaConf.is_dict(node):
        return []
    out = []
    for key in node:
        full = f"{prefix}{key}"
        out.append(full)
        child = node._get_node(key)
        if OmegaConf.is_dict(child):
            out.extend(_dotted_keys(child, full + "."))
    return out


def _unknown_key(key: str, base: Any | None) -> str:
    """``data.path: not a config field; did you mean data.mixture.local.path?``"""
    parent, _, leaf = key.rpartition(".")
    keys = _dotted_keys(base) if base is not None else []
    same_leaf = [k for k in keys if k.rsplit(".", 1)[-1] == leaf]
    near = [k for k in same_leaf if k.startswith(parent + ".")] or same_leaf
    near = near or difflib.get_close_matches(key, keys, n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(near[:3])}?" if near else ""
    siblings = [k.rsplit(".", 1)[-1] for k in keys if k.rpartition(".")[0] == parent]
    if not hint and siblings:
        hint = f"{parent or 'the config'} has {', '.join(sorted(siblings))}"
    fix = "scaling-train --cfg job lists every field; +key=value adds a new one"
    return f"{key}: not a config field; {hint + '; ' if hint else ''}{fix}"


def _missing_option(text: str) -> str | None:
    """``model=typo: no such config; choose one of l, m, s``, from Hydra's MissingConfig text."""
    m = re.search(r"Could not find '([^']+)/([^'/]+)'", text)
    if not m:
        return None
    group, name = m.group(1), m.group(2)
    options = re.findall(r"^\t(\S+)$", text.split("Config search path")[0], flags=re.M)
    near = difflib.get_close_matches(name, options, n=1)
    hint = f"did you mean {near[0]}? " if near else ""
    return f"{group}={name}: no such {group} config; {hint}choose one of {', '.join(options)}"


def _bad_value(exc: BaseException) -> str | None:
    """``budget.flops='abc': must be a float``, from OmegaConf's ValidationError."""
    text = str(exc)
    key = re.search(r"full_key: (\S+)", text)
    m = re.search(r"Value '(.*)' of type '(\w+)' could not be converted to (\w+)", text)
    if key and m:
        return f"{key.group(1)}={m.group(1)!r}: must be {m.group(3).lower()}, not {m.group(2)}"
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return f"{key.group(1)}: {first}" if key else None


def one_line(exc: BaseException, base: Any | None = None) -> str:
    """The one line a user sees for a Hydra parse or composition error. ``base``: a composed
    config to suggest field names from."""
    cause = exc.__cause__ or exc.__context__
    text = str(exc)
    if isinstance(cause, ConfigAttributeError | ConfigKeyError):
        key = re.search(r"full_key: (\S+)", str(cause))
        if key:
            return _unknown_key(key.group(1), base)
    if isinstance(cause, ValidationError) and (line := _bad_value(cause)):
        return line
    if isinstance(exc, MissingConfigException) and (line := _missing_option(text)):
        return line
    if isinstance(exc, OverrideParseException):
        first = text.splitlines()[0]
        return f"override syntax: {first}; see {_SYNTAX}"
    m = re.search(r"Ambiguous value for argument '([^']+)'", text)
    if m:
        return (
            f"{m.group(1)}: a comma list sweeps only in a multirun; add -m, "
            "or write [a,b] for a list or quote it for a string"
        )
    m = re.search(r"Could not override '([^']+)'", text)
    if m:
        return _unknown_key(m.group(1), base)
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return first


def _values(override: Any) -> list[str]:
    """The values a sweep override takes (``model=xs,s`` -> ``[xs, s]``); one for a fixed one."""
    if not override.is_sweep_override():
        return [override.get_value_element_as_str()]
    try:
        return list(override.sweep_string_iterator())
    except Exception:  # noqa: BLE001 - range/interval sweeps: composed by the sweeper itself
        return []


def preflight(overrides: list[str], compose: Any) -> None:
    """Compose the command line's fixed overrides, then each value of each sweep override on
    top of them, so that a typo anywhere is one ``UserError`` before Hydra starts (``compose``:
    overrides -> config, raising Hydra's errors)."""
    multirun = "-m" in overrides or "--multirun" in overrides
    overrides = [o for o in overrides if o not in ("-m", "--multirun")]
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except OverrideParseException as exc:
        raise UserError(one_line(exc)) from None
    fixed = [o.input_line for o in parsed if not o.is_sweep_override()]
    try:
        base = compose(fixed, True)
    except Exception as exc:  # noqa: BLE001 - Hydra's compose errors are the user's overrides
        raise UserError(one_line(exc, _safe(compose, []))) from None
    if not multirun and str(OmegaConf.select(base, "hydra.mode")) != "RunMode.MULTIRUN":
        sweeps = [o.input_line for o in parsed if o.is_sweep_override()]
        if sweeps:
            key = sweeps[0].split("=", 1)[0]
            raise UserError(
                f"{sweeps[0]}: a comma list sweeps only in a multirun; add -m to sweep "
                f"{key}, or write {key}=[a,b] for a list or quote it for a string"
            )
    for o in parsed:
        if not o.is_sweep_override() or o.is_hydra_override():
            continue
        key = o.input_line.split("=", 1)[0]  # as written, with its +, ++ or ~
        for value in _values(o):
            try:
                compose([*fixed, f"{key}={value}"])
            except Exception as exc:  # noqa: BLE001 - as above, one value of a sweep
                raise UserError(one_line(exc, base)) from None


def _safe(compose: Any, overrides: list[str]) -> Any | None:
    try:
        return compose(overrides)
    except Exception:  # noqa: BLE001 - only for suggestions
        return None
