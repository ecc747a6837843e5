"""Scaling-law fitting on numpy arrays, with typed results and named parameters.

Laws (each formula cites its source in its docstring):

- ``fit_chinchilla``: L(N, D) = E + A/N^alpha + B/D^beta, Huber on log loss in log-sum-exp form,
  4,500-start grid, bootstrap intervals (Hoffmann et al. 2022 §3.3, App. D.2; Besiroglu et al.
  2024). Result ``ChinchillaFit`` with ``predict`` and ``compute_optimal`` (Hoffmann eq. 4).
- ``fit_isoflop``: isoFLOP minima and N_opt ∝ C^a, D_opt ∝ C^b (Hoffmann et al. 2022 §3.2);
  profiles "quadratic", "spline" (Porian et al. 2024) or "varpro" (``fit_varpro_surface``,
  arXiv:2603.22339), bootstrap-weighted power laws as in Porian et al. 2024.
- ``fit_envelope``: lower envelope of learning curves (Hoffmann et al. 2022 §3.1).
- ``fit_data_constrained``: repeated data and excess parameters, R_D* and R_N*
  (Muennighoff et al. 2023 §3.1); ``compute_optimal_constrained`` for a unique-data limit.
- ``fit_accuracy``: accuracy as a sigmoid of log compute or of loss.
- ``fit_power_law``, ``holdout_check``. Tables of runs (file I/O) are read and fitted by
  ``scaling.analysis.tables``.

Importing ``scaling.fit`` loads numpy only; scipy is imported when a function that needs it is
first used (attribute access loads the submodule), and pandas never is (fits take arrays or
columns by name; tables of runs are read in ``scaling.analysis.tables``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    # parametric (approach 3)
    "ChinchillaLaw": "parametric",
    "ChinchillaFit": "parametric",
    "fit_chinchilla": "parametric",
    "HOFFMANN_GRID": "parametric",
    "HOFFMANN_2022": "parametric",
    "BESIROGLU_2024": "parametric",
    # power laws
    "PowerLaw": "powerlaw",
    "fit_power_law": "powerlaw",
    # isoFLOP (approach 2)
    "IsoFlopMinimum": "isoflop",
    "IsoFlopFit": "isoflop",
    "fit_isoflop": "isoflop",
    "group_budgets": "isoflop",
    "VarProSurface": "isoflop",
    "fit_varpro_surface": "isoflop",
    # envelope (approach 1)
    "EnvelopeFit": "envelope",
    "fit_envelope": "envelope",
    # data-constrained
    "DataConstrainedLaw": "constrained",
    "DataConstrainedFit": "constrained",
    "fit_data_constrained": "constrained",
    "effective_data": "constrained",
    "effective_params": "constrained",
    "unique_params": "constrained",
    "compute_optimal_constrained": "constrained",
    "MUENNIGHOFF_2023": "constrained",
    "MUENNIGHOFF_2023_BASE": "parametric",
    "profile_threshold": "constrained",
    "resolve_base": "constrained",
    "load_law": "lawfile",
    # accuracy
    "SigmoidFit": "accuracy",
    "fit_accuracy": "accuracy",
    # hold-out
    "HoldoutResult": "holdout",
    "holdout_check": "holdout_check",
}

__all__ = [
    "BESIROGLU_2024",
    "HOFFMANN_2022",
    "HOFFMANN_GRID",
    "MUENNIGHOFF_2023",
    "MUENNIGHOFF_2023_BASE",
    "ChinchillaFit",
    "ChinchillaLaw",
    "DataConstrainedFit",
    "DataConstrainedLaw",
    "EnvelopeFit",
    "HoldoutResult",
    "IsoFlopFit",
    "IsoFlopMinimum",
    "PowerLaw",
    "SigmoidFit",
    "VarProSurface",
    "compute_optimal_constrained",
    "effective_data",
    "effective_params",
    "fit_accuracy",
    "fit_chinchilla",
    "fit_data_constrained",
    "fit_envelope",
    "fit_isoflop",
    "fit_power_law",
    "fit_varpro_surface",
    "group_budgets",
    "holdout_check",
    "load_law",
    "profile_threshold",
    "resolve_base",
    "unique_params",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'scaling.fit' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"scaling.fit.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:
    from scaling.fit.accuracy import SigmoidFit, fit_accuracy
    from scaling.fit.constrained import (
        MUENNIGHOFF_2023,
        MUENNIGHOFF_2023_BASE,
        DataConstrainedFit,
        DataConstrainedLaw,
        compute_optimal_constrained,
        effective_data,
        effective_params,
        fit_data_constrained,
        profile_threshold,
        resolve_base,
        unique_params,
    )
    from scaling.fit.envelope import EnvelopeFit, fit_envelope
    from scaling.fit.holdout import HoldoutResult
    from scaling.fit.holdout_check import holdout_check
    from scaling.fit.isoflop import (
        IsoFlopFit,
        IsoFlopMinimum,
        VarProSurface,
        fit_isoflop,
        fit_varpro_surface,
        group_budgets,
    )
    from scaling.fit.lawfile import load_law
    from scaling.fit.parametric import (
        BESIROGLU_2024,
        HOFFMANN_2022,
        HOFFMANN_GRID,
        ChinchillaFit,
        ChinchillaLaw,
        fit_chinchilla,
    )
    from scaling.fit.powerlaw import PowerLaw, fit_power_law
