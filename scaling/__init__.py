"""scaling-lab: data-vs-compute scaling experiments.

Analysis entry points (no torch import): ``scaling.analysis.results.load``, ``scaling.fit``,
``scaling.analysis.plots``. Training lives in ``scaling.train.trainer`` and is imported on demand.
"""

__version__ = "0.1.0"
