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
# # Reproduction: Datablations: the return on repeated data, R_D* and R_N*
#
# Muennighoff et al. 2023's data-constrained law on their released runs, rebuilt by `scaling reproduce datablations --data TABLE` (the same code). The product ships no
# third-party table: point `DATA` at the folder holding it (`scaling reproduce datablations` says
# where to get it); the tests use `../shared/anchors/`.

# %% tags=["parameters"]
from pathlib import Path

DATA = Path("../../shared/anchors")
BOOTSTRAP = None  # None: the reproduction's default number of bootstrap resamples

# %%
import pandas as pd

from scaling import results

rep = results.reproduce("datablations", DATA, bootstrap=BOOTSTRAP)
print(rep.title)
pd.DataFrame(rep.cells(), columns=["quantity", "ours [95% CI]", "published", "difference"])

# %% [markdown]
# Sources of the published numbers, and the figure with its caption.

# %%
for i, source in enumerate(rep.sources(), 1):
    print(f"[{i}] {source}")
print(rep.caption)
rep.figure
