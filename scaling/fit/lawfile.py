"""Chinchilla base laws from JSON files or named presets, for fits that hold the base fixed.

``load_law`` accepts

- a preset name: "muennighoff2023" (the C4 base law of Muennighoff et al. 2023, alpha tied to
  beta, ``scaling.fit.parametric.MUENNIGHOFF_2023_BASE``), "hoffmann2022" (Hoffmann et al.
  2022 §3.3, ``HOFFMANN_2022``) or "besiroglu2024" (Besiroglu et al. 2024 Table 1,
  ``BESIROGLU_2024``); case, "-" and "_" are ignored;
- a JSON file holding an object with the keys E, A, B, alpha, beta (other keys, e.g. the rest
  of ``ChinchillaFit.to_dict()``, are ignored), or that object wrapped in single-entry objects
  as ``scaling fit --json`` writes them ({law: {group: {...}}}); with several entries the one
  named ``group`` is taken, else the entry "chinchilla" when present.

Bad files raise ``UserError`` with one line naming the file and the key.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scaling.core.errors import UserError
from scaling.fit.parametric import BESIROGLU_2024, HOFFMANN_2022, PARAM_NAMES, ChinchillaLaw

PRESETS: tuple[str, ...] = ("muennighoff2023", "hoffmann2022", "besiroglu2024")


def preset_law(name: str) -> ChinchillaLaw | None:
    """The named published base law, or None when ``name`` is not a preset."""
    key = name.strip().lower().replace("-", "").replace("_", "")
    if key == "muennighoff2023":
        from scaling.fit.parametric import MUENNIGHOFF_2023_BASE

        return MUENNIGHOFF_2023_BASE
    if key == "hoffmann2022":
        return HOFFMANN_2022
    if key == "besiroglu2024":
        return BESIROGLU_2024
    return None


def law_from_mapping(d: Mapping[str, Any], where: str = "law") -> ChinchillaLaw:
    """A ChinchillaLaw from a mapping with E, A, B, alpha, beta (positive finite numbers)."""
    values: dict[str, float] = {}
    for k in PARAM_NAMES:
        if k not in d:
            raise UserError(
                f"{where}: missing key {k!r}; a law needs the keys {', '.join(PARAM_NAMES)}"
            )
        v = d[k]
        ok = isinstance(v, int | float) and not isinstance(v, bool)
        if not ok or not math.isfinite(float(v)) or float(v) <= 0:
            raise UserError(f"{where}: key {k!r} must be a positive finite number, got {v!r}")
        values[k] = float(v)
    return ChinchillaLaw(**values)


def _unwrap(obj: Any, where: str, group: str | None) -> Mapping[str, Any]:
    """Descend single-entry wrappers ({law: {group: {...}}}) to the object holding the law."""
    path: list[str] = []
    for _ in range(8):
        if not isinstance(obj, Mapping):
            at = f" at {'/'.join(path)}" if path else ""
            raise UserError(f"{where}: expected a JSON object{at}, got {type(obj).__name__}")
        if any(k in obj for k in PARAM_NAMES):
            return obj
        subs = {k: v for k, v in obj.items() if isinstance(v, Mapping)}
        if group is not None and group in subs:
            key = group
        elif len(subs) == 1:
            key = next(iter(subs))
        elif "chinchilla" in subs:
            key = "chinchilla"
        elif not subs:
            raise UserError(
                f"{where}: missing key 'E'; a law needs the keys {', '.join(PARAM_NAMES)}"
            )
        else:
            raise UserError(
                f"{where}: {len(subs)} entries ({', '.join(map(repr, subs))}); "
                f"pass group=... (one of them) or a file holding one law"
            )
        path.append(str(key))
        obj = subs[key]
    raise UserError(f"{where}: nested too deeply to hold a law")


def load_law(path_or_name: str | os.PathLike[str], *, group: str | None = None) -> ChinchillaLaw:
    """A base law from a preset name or a JSON file (see the module docstring)."""
    if isinstance(path_or_name, str):
        law = preset_law(path_or_name)
        if law is not None:
            return law
    p = Path(path_or_name)
    if not p.is_file():
        raise UserError(
            f"{p}: no such file; give a JSON file with E, A, B, alpha, beta or a preset "
            f"({', '.join(PRESETS)})"
        )
    try:
        obj = json.loads(p.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{p}: cannot read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{p}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    return law_from_mapping(_unwrap(obj, str(p), group), str(p))
