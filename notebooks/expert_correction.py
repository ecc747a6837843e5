# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
# ---

# %% [markdown]
# # Expert correction: what an expert-second buys
#
# The study `experiments/expert_correction` (question, command and frozen numbers in its
# README): AI-generated traces with corrupted steps, four ways of using an expert (raw,
# outcome_filter, process_correction, retry_kept), and the expert-seconds each kept trace cost.
#
# Point `SWEEP` at a sweep of `experiment=correction_modes` and run all cells.

# %% tags=["parameters"]
from pathlib import Path

BOOTSTRAP = 100  # bootstrap resamples of the fits' intervals
SWEEP = Path("../runs/correction_modes")

# %%
from scaling import plots, results

df = results.load(SWEEP)
cost = [c for c in df.columns if c.startswith("data_cost_expert_seconds")]
print(f"{len(df)} runs; cost columns {cost or 'none (no expert in this sweep)'}")
df.groupby("data_type")[["loss", *cost]].mean()

# %% [markdown]
# ## Loss against compute, per correction mode

# %%
fits = results.fit_sweep(df, bootstrap=BOOTSTRAP)
fig = plots.loss_vs_compute(df, fits)
fig
