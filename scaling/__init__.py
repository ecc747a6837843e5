"""scaling-lab: data-vs-compute scaling experiments.

Analysis entry points (no torch import): ``scaling.results.load``, ``scaling.fit``,
``scaling.plots``. Training lives in ``scaling.train`` and is imported on demand.
"""

__version__ = "0.1.0"
