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
# # Arithmetic formats: plain vs reversed vs scratchpad at equal compute
#
# The study `experiments/arithmetic_formats` (question, command and frozen numbers in its
# README), after Lee et al. 2023: the same additions rendered three ways, scored by greedy
# decoding and the verifier on held-out problems and on Lee et al.'s test set.
#
# Point `SWEEP` at a sweep of `experiment=arithmetic_formats` and run all cells.

# %% tags=["parameters"]
from pathlib import Path

BOOTSTRAP = 100  # bootstrap resamples of the fits' intervals
SWEEP = Path("../runs/arithmetic_formats")

# %%
from scaling import plots, results

df = results.load(SWEEP)
acc = results.accuracy_columns(df)
print(f"{len(df)} runs; accuracy columns {acc}")
df.pivot_table(index=["budget_flops", "model"], columns="data_type", values=acc or "loss")

# %%
fits = results.fit_sweep(df, bootstrap=BOOTSTRAP)
fig = plots.accuracy_vs_compute(df, fits)
fig
