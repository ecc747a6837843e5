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
# # Learning rate by width
#
# The study `experiments/lr_by_width` (question, command and frozen numbers in its README):
# is each width's best peak learning rate inside its scan (Porian et al. 2024, Sec. 4: an
# untuned LR biases the fitted exponent), and does it move with width or with the data?
#
# Point `SWEEP` at a sweep of `experiment=lr_by_width` (or `lr_frontier_mix`) and run all cells.

# %% tags=["parameters"]
from pathlib import Path

SWEEP = Path("../runs/lr_by_width")

# %%
from scaling import plots, results

df = results.load(SWEEP)
table = df.pivot_table(index="peak_lr", columns=["data_type", "model"], values="loss")
table

# %% [markdown]
# ## Best LR per width and data type, and whether it is bracketed
# A best LR at either end of the scanned grid is not bracketed: the scan must be widened there.

# %%
for (dt, model), col in table.items():
    col = col.dropna()
    if col.empty:
        continue
    best = col.idxmin()
    inside = col.index.min() < best < col.index.max()
    print(f"{dt:>14} {model:>5}: best lr {best:.3g} ({'inside' if inside else 'AT THE EDGE of'} "
          f"the scan {col.index.min():.3g}..{col.index.max():.3g})")

# %%
fig = plots.loss_vs_lr(df)
if fig is None:
    print("one peak LR per size in this sweep: no LR scan to draw")
fig
