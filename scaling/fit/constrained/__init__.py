"""Data-constrained scaling law with repeated data and excess parameters (Muennighoff et al. 2023).

Muennighoff et al. 2023, "Scaling Data-Constrained Language Models" (arXiv:2305.16264), §3.1
eqs. (5)-(7): the Chinchilla law evaluated at an effective data D' and effective size N',

    L = E + A / N'^alpha + B / D'^beta,
    D' = U_D + U_D R_D* (1 - exp(-R_D / R_D*)),   R_D = D / U_D - 1   (repetitions),
    N' = U_N + U_N R_N* (1 - exp(-R_N / R_N*)),   R_N = N / U_N - 1   (excess parameters),

fitted by the summed Huber (delta = 1e-3) of log residuals in log-sum-exp form, as in
huggingface/datablations utils/parametric_fit.ipynb. Published values (that notebook, cells
"FIT CHINCHILLA C4 ISOFLOP DOTS" and "FIT OUR DOTS ...", and README.md): the base law fitted on
Chinchilla's C4 isoFLOP points with alpha tied to beta, a, b, e, alpha = 6.255414, 7.3049974,
0.6254804, 0.3526596 (E = 1.87, A = 521, B = 1488, alpha = beta = 0.353), and on the 182 default
runs R_D* = 15.387756, R_N* = 5.309743 (15.4 and 5.3 as rounded in the paper). On those runs
with the paper's base the objective is flat in R_D* up to 10x the largest R_D, so R_D* is
reported as not identified (interval [4.5, inf)), and the free fit's R_N* runs off to ~1e184.

The package re-exports its modules' names, one job each:

- ``law``: D', N', N_u, ``DataConstrainedLaw``, ``MUENNIGHOFF_2023``,
  ``compute_optimal_constrained``;
- ``objective``: the batched Huber objective and gradient per base mode, the start grid;
- ``result``: ``DataConstrainedFit`` and the identification rules;
- ``profile``: profile-objective intervals of R_D*, R_N* (``profile_threshold``);
- ``fit``: ``resolve_base`` and the fit driver ``fit_data_constrained`` on the engine
  ``scaling.fit.multistart``.
"""

from __future__ import annotations

from scaling.fit.constrained.fit import BaseSpec, fit_data_constrained, resolve_base
from scaling.fit.constrained.law import (
    MUENNIGHOFF_2023,
    DataConstrainedLaw,
    _decay,
    compute_optimal_constrained,
    effective_data,
    effective_params,
    unique_params,
)
from scaling.fit.constrained.objective import (
    JOINT_GRID_POINTS,
    JOINT_R_STAR_STARTS,
    R_STAR_STARTS,
    _base_from_theta,
    _full_theta,
    _log_eff,
    _n_params,
    _objective,
    _starts,
    _theta_base,
    dc_objective,
)
from scaling.fit.constrained.profile import (
    PROFILE_POINTS_PER_DECADE,
    ProfileIntervals,
    _Profile,
    _profile_grid,
    _profile_interval,
    _profile_values,
    profile_intervals,
    profile_threshold,
)
from scaling.fit.constrained.result import (
    _REP_NAMES,
    BASE_MODES,
    R_STAR_FLAT_FACTOR,
    R_STAR_MIN,
    R_STAR_NAMES,
    DataConstrainedFit,
    _identify,
    _max_repetitions,
)
from scaling.fit.parametric import MUENNIGHOFF_2023_BASE, ChinchillaLaw

__all__ = [
    "BASE_MODES",
    "JOINT_GRID_POINTS",
    "JOINT_R_STAR_STARTS",
    "MUENNIGHOFF_2023",
    "MUENNIGHOFF_2023_BASE",
    "PROFILE_POINTS_PER_DECADE",
    "R_STAR_FLAT_FACTOR",
    "R_STAR_MIN",
    "R_STAR_NAMES",
    "R_STAR_STARTS",
    "_REP_NAMES",
    "BaseSpec",
    "ChinchillaLaw",
    "DataConstrainedFit",
    "DataConstrainedLaw",
    "ProfileIntervals",
    "_Profile",
    "_base_from_theta",
    "_decay",
    "_full_theta",
    "_identify",
    "_log_eff",
    "_max_repetitions",
    "_n_params",
    "_objective",
    "_profile_grid",
    "_profile_interval",
    "_profile_values",
    "_starts",
    "_theta_base",
    "compute_optimal_constrained",
    "dc_objective",
    "effective_data",
    "effective_params",
    "fit_data_constrained",
    "profile_intervals",
    "profile_threshold",
    "resolve_base",
    "unique_params",
]
