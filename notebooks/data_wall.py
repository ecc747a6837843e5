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
# # Data wall: what repeating a finite pool of unique data costs
#
# The study `experiments/data_wall` (question, command and frozen numbers in its README):
# frontier traces drawn from pools of unique tokens and repeated for as many epochs as a budget
# needs, fitted with the data-constrained law of Muennighoff et al. 2023 (R_D*: the epochs
# after which repeated tokens are worth 1/e of fresh ones).
#
# Point `SWEEP` at a sweep of `experiment=data_constrained` and run all cells.

# %% tags=["parameters"]
from pathlib import Path

SWEEP = Path("../runs/data_constrained")
BOOTSTRAP = 100

# %%
from scaling import plots, results

df = results.load(SWEEP)
print(f"{len(df)} runs; epochs {df.epochs.min():.3g} to {df.epochs.max():.3g}")
df[["data_type", "model", "budget_flops", "unique_tokens", "epochs", "loss"]]

# %% [markdown]
# ## The data-constrained law
# Fitted where the sweep repeats data (more than one epoch somewhere); R_D* and R_N* with their
# bootstrap intervals, or the reason they are not identified.

# %%
if (df.epochs > 1).any():
    fits = results.fit_frame(df, "data_constrained", bootstrap=BOOTSTRAP)
    for name, fit in fits.items():
        print(name, fit)
else:
    print("no run repeats its data: nothing for the data-constrained law to fit")

# %%
fits = results.fit_sweep(df, bootstrap=BOOTSTRAP)
fig = plots.loss_vs_compute(df, fits)
fig
