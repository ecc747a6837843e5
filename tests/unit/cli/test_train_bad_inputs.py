"""``scaling-train`` refuses bad input with one line, exit status 2, no traceback, and leaves the
directory it was started in exactly as it was (issue 14: "nothing written or changed on disk").

Each case is a command line and a fragment the one line must contain (the field it names).
Config composition errors are caught before Hydra starts (``scaling.cli.hydra_errors``); a
run refused while it starts (a missing local path, an offline hub id, a budget below one step)
is refused before its run directory is written (``scaling.runs.runner._check_sources``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.helpers import run_cli

CASES = [
    # unknown and misspelt keys, groups and options
    ("unknown_key", ["data.path=/x"], "data.path: not a config field; did you mean"),
    ("misspelt_field", ["optim.lrr=1e-3"], "did you mean optim.lr"),
    ("top_level_typo", ["sed=3"], "sed: not a config field"),
    ("added_key_nothing_reads", ["+foo=1"], "foo: not a config field"),
    ("added_nested_key", ["+model.foo=2"], "model.foo: not a config field"),
    ("added_source_key", ["+data.mixture.web.fo=1"], "data.mixture.web.fo: not a config"),
    ("unknown_model", ["model=huge"], "model=huge: no such model config; choose one of"),
    ("misspelt_data", ["data=frontr"], "did you mean frontier"),
    ("unknown_experiment", ["experiment=quickstrat"], "did you mean quickstart"),
    ("bad_sweep_value", ["-m", "model=xs,typo"], "model=typo: no such model config"),
    # wrong types
    ("text_budget", ["budget.flops=abc"], "budget.flops='abc': must be float"),
    ("text_width", ["model.d_model=wide"], "model.d_model='wide': must be integer"),
    ("text_weight", ["data.mixture.web.weight=heavy"], "data.mixture.web.weight="),
    ("override_syntax", ["optim.lr=[1"], "override syntax"),
    ("comma_list_without_m", ["optim.lr=1e-3,2e-3"], "sweeps only in a multirun; add -m"),
    # values out of range
    ("negative_budget", ["budget.flops=-1"], "budget.flops"),
    ("zero_budget", ["budget.flops=0"], "budget.flops"),
    ("nan_budget", ["budget.flops=nan"], "budget.flops"),
    ("budget_below_one_step", ["model=xxxs", "budget.flops=1e3"], "budget"),
    ("heads_do_not_divide", ["model=xxxs", "model.n_head=3"], "n_head"),
    ("negative_lr", ["optim.lr=-1e-3"], "optim.lr"),
    # data sources
    (
        "unknown_generator",
        ["data=frontier_arith", "data.mixture.frontier.generator=nope"],
        "generator",
    ),
    (
        "missing_local_path",
        ["data=local", "data.mixture.local.path=/no/such/corpus"],
        "data.mixture.local.path='/no/such/corpus': does not exist",
    ),
    (
        "offline_hub_id",
        ["data=hf_tinystories", "model=xxxs", "budget.flops=1e9"],
        "the Hugging Face hub is unreachable",
    ),
]


def _tree(root: Path) -> dict[str, str]:
    """Every path under root with its content hash ('dir' for a directory)."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        out[rel] = "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.mark.parametrize(("args", "needle"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_scaling_train_refuses_with_one_line_and_writes_nothing(tmp_path, args, needle):
    (tmp_path / "keep.txt").write_text("an earlier file\n")
    before = _tree(tmp_path)
    proc = run_cli(["scaling-train", *args], cwd=tmp_path, env={"HF_HUB_OFFLINE": "1"}, timeout=300)
    err = proc.stderr.strip()
    assert proc.returncode == 2, (proc.returncode, err[-2000:])
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert needle in lines[0], lines[0]
    assert _tree(tmp_path) == before  # nothing written, nothing changed


def test_corpus_is_large_enough():
    assert len(CASES) >= 20 and len({c[0] for c in CASES}) == len(CASES)
