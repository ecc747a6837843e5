"""IsoFLOP profiles (Chinchilla approach 2, Hoffmann et al. 2022 §3.2): every name of approach 2.

One module per job:

- ``approach2``: ``fit_isoflop`` end to end, ``METHODS`` and the measured ``DEFAULT_METHOD``.
- ``budgets``: ``group_budgets``, runs grouped into FLOP budgets.
- ``profiles``: one budget's minimum (``budget_minimum``: parabola, Akima spline of Porian et al.
  2024, or the VarPro surface).
- ``gate``: the interior gate on a minimum (``MIN_POINTS_EACH_SIDE``, ``MIN_CURVATURE``).
- ``varpro``: ``fit_varpro_surface``, the E + A N^-alpha + B D^-beta surface by Variable
  Projection (arXiv:2603.22339), and its minimum along a budget.
- ``bootstrap``: the 1/sigma^2-weighted bootstrap of Porian et al. 2024.
- ``results``: ``IsoFlopMinimum`` and ``IsoFlopFit``.
"""

from __future__ import annotations

from scaling.fit.isoflop.approach2 import DEFAULT_METHOD, METHODS, fit_isoflop
from scaling.fit.isoflop.bootstrap import SIGMA_FLOOR_FRACTION
from scaling.fit.isoflop.budgets import group_budgets
from scaling.fit.isoflop.gate import MIN_CURVATURE, MIN_POINTS_EACH_SIDE, OUTSIDE
from scaling.fit.isoflop.profiles import budget_minimum, parabola_minimum, spline_minimum
from scaling.fit.isoflop.results import IsoFlopFit, IsoFlopMinimum
from scaling.fit.isoflop.varpro import (
    VARPRO_BOOTSTRAP_GRID,
    VARPRO_BOUNDS,
    VARPRO_GRID,
    VarProSurface,
    fit_varpro_surface,
    varpro_minimum,
)

__all__ = [
    "DEFAULT_METHOD",
    "METHODS",
    "MIN_CURVATURE",
    "MIN_POINTS_EACH_SIDE",
    "OUTSIDE",
    "SIGMA_FLOOR_FRACTION",
    "VARPRO_BOOTSTRAP_GRID",
    "VARPRO_BOUNDS",
    "VARPRO_GRID",
    "IsoFlopFit",
    "IsoFlopMinimum",
    "VarProSurface",
    "budget_minimum",
    "fit_isoflop",
    "fit_varpro_surface",
    "group_budgets",
    "parabola_minimum",
    "spline_minimum",
    "varpro_minimum",
]
