"""The notebook entry point to the figures (``scaling.plots.isoflop_curves(df, fits)``): the public
names of ``scaling.analysis.plots``, where they are defined. No torch, no Hydra."""

from scaling.analysis.plots import (
    FIGURES,
    accuracy_vs_compute,
    isoflop_curves,
    learning_curves,
    loss_vs_compute,
    loss_vs_lr,
    optimal_allocation,
    save_all,
)

__all__ = [
    "FIGURES",
    "accuracy_vs_compute",
    "isoflop_curves",
    "learning_curves",
    "loss_vs_compute",
    "loss_vs_lr",
    "optimal_allocation",
    "save_all",
]
