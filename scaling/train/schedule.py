"""The learning-rate schedule: linear warmup, then cosine decay over the run's own length."""

from __future__ import annotations

import math


def lr_at(
    step: int, total_steps: int, peak: float, warmup_fraction: float, final_fraction: float
) -> float:
    """Linear warmup to ``peak``, then cosine to ``final_fraction * peak`` at the last step
    (Hoffmann et al. 2022, App. A: cosine cycle matched to the number of training steps)."""
    warmup = max(1, round(warmup_fraction * total_steps)) if warmup_fraction > 0 else 0
    if step < warmup:
        return peak * (step + 1) / warmup
    span = max(1, total_steps - warmup - 1)
    progress = min(1.0, (step - warmup) / span)
    final = final_fraction * peak
    return final + (peak - final) * 0.5 * (1.0 + math.cos(math.pi * progress))
