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
from matplotlib.figure import Figure

from scaling import results

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
fig = Figure(figsize=(6, 3.6))
ax = fig.subplots()
for (dt, model), col in table.items():
    col = col.dropna()
    ax.plot(col.index, col.values, "o-", ms=3, label=f"{dt} {model}")
ax.set_xscale("log")
ax.set_xlabel("peak learning rate")
ax.set_ylabel("held-out loss (nats/token)")
ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1, 0.5))
fig.tight_layout()
fig
