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
# # Process vs output: what writing the process down buys
#
# The study `experiments/process_vs_output` (its README has the question, the commands and the
# frozen numbers). Two arms train on the *same* generated problems: `frontier` writes each
# problem's process (steps, tool calls, agent actions) before the answer, `outputs_only` writes
# the answer alone. Both are scored on the same held-out problems by greedy decoding and each
# problem's own verifier, so their accuracies compare directly; `web` prose is a third arm.
#
# Point `SWEEP` at a sweep of `experiment=quickstart` (or any sweep with a trace arm and its
# outputs-only twin) and run all cells.

# %% tags=["parameters"]
from pathlib import Path

BOOTSTRAP = 100  # bootstrap resamples of the fits' intervals
SWEEP = Path("../runs/quickstart")

# %%
import pandas as pd

from scaling import plots, results

df = results.load(SWEEP)
acc = results.accuracy_columns(df)
print(f"{len(df)} runs; data types {sorted(df.data_type.unique())}; accuracy columns {acc}")
df.pivot_table(index=["budget_flops", "model"], columns="data_type", values=acc[:1] or "loss")

# %% [markdown]
# ## The contrast, budget by budget
# Each arm's best size per budget; accuracies with Wilson 95% intervals, the difference with
# Newcombe's 95% interval (seeds pooled when the sweep has several).

# %%
contrasts = results.process_contrasts(df)
rows = [
    {
        "task": c["task"],
        "flops": p.flops,
        "trace": p.trace.render(),
        "outputs_only": p.outputs.render(),
        "difference": p.difference.render(),
        "sizes": f"{p.trace_model} / {p.outputs_model}",
    }
    for c in contrasts
    for p in c["points"]
]
print("no trace arm with an outputs-only twin in this sweep" if not rows else "")
pd.DataFrame(rows)

# %% [markdown]
# ## Accuracy and loss against compute

# %%
fits = results.fit_sweep(df, bootstrap=BOOTSTRAP)
fig = plots.accuracy_vs_compute(df, fits)
fig

# %%
fig = plots.loss_vs_compute(df, fits)
fig
