"""scaling-lab: data-vs-compute scaling experiments.

In a notebook (no torch, no Hydra): ``df = scaling.results.load("runs/...")``, then
``scaling.fit.*`` and ``scaling.plots.*`` on that frame (facades of ``scaling.analysis``).
The layers are described in README.md ("Layout"); training lives in ``scaling.train``.
"""

__version__ = "0.1.0"
