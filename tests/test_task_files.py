"""Task accuracy on a published test file (Lee et al. 2023's ``a+b=c`` lines) instead of
generated problems: validation, seeded subsampling, and the held-out/train split breakdown."""

from __future__ import annotations

import math

import pytest

from scaling.core.config import EvalConfig, SourceConfig, TaskEvalConfig
from scaling.core.errors import UserError
from scaling.data import generators
from scaling.data.generators.base import is_heldout_uid
from scaling.train.trainer import split_accuracy, task_examples
from tests.conftest import tiny_run


def _lee_file(tmp_path, n=300):
    lines = [f"{a}+{3 * a % 1000}={a + 3 * a % 1000}" for a in range(100, 100 + n)]
    path = tmp_path / "test.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_missing_file_stops_early_naming_the_field():
    with pytest.raises(UserError, match=r"^eval\.tasks\.lee\.problems_file='nope\.txt': no such"):
        EvalConfig(tasks={"lee": TaskEvalConfig(problems_file="nope.txt")})


def test_missing_file_can_be_skipped_with_a_warning(capsys):
    ev = EvalConfig(tasks={"lee": TaskEvalConfig(problems_file="nope.txt", if_missing="skip")})
    assert ev.tasks["lee"].n_problems == 0
    assert "task skipped" in capsys.readouterr().err
    with pytest.raises(UserError, match=r"eval\.tasks\.lee\.if_missing"):
        EvalConfig(tasks={"lee": TaskEvalConfig(problems_file="x", if_missing="maybe")})


def test_file_problems_are_a_seeded_subsample_in_file_order(tmp_path):
    path = _lee_file(tmp_path)
    gen = generators.get("arithmetic", fmt="plain")
    task = TaskEvalConfig(problems_file=str(path), n_problems=50)
    a = task_examples(gen, task, seed=1, where="eval.tasks.lee")
    b = task_examples(gen, task, seed=1, where="eval.tasks.lee")
    c = task_examples(gen, task, seed=2, where="eval.tasks.lee")
    assert [e.uid for e in a] == [e.uid for e in b] != [e.uid for e in c]
    assert len(a) == 50
    firsts = [e.meta["problem"]["a"] for e in a]
    assert firsts == sorted(firsts)  # file order kept
    assert all(gen.verify(e, gen.completion(e, "outputs_only")) for e in a)


def test_split_accuracy_separates_our_heldout_problems(tmp_path):
    gen = generators.get("arithmetic")
    exs = task_examples(gen, TaskEvalConfig(problems_file=str(_lee_file(tmp_path))), 0, "t")
    held = [is_heldout_uid(e.uid) for e in exs]
    assert 0 < sum(held) < len(held)
    out = split_accuracy(held, exs)  # "correct" exactly on the held-out ones
    assert out["accuracy_heldout_split"] == 1.0 and out["accuracy_train_split"] == 0.0
    assert out["n_heldout_split"] == sum(held)


def test_run_records_accuracy_on_the_file(tmp_path):
    from scaling.runs.runner import execute

    path = _lee_file(tmp_path, n=40)
    web = SourceConfig(kind="installed_docs", packages=["stdlib"])
    ev = EvalConfig(
        domains={"web": web},
        tasks={"lee": TaskEvalConfig(problems_file=str(path), n_problems=30, max_new_tokens=12)},
        tokens_per_domain=256,
        final_tokens_per_domain=512,
        points=1,
    )
    rec = execute(tiny_run(eval=ev, out_dir=tmp_path / "runs"))
    lee = rec["task"]["lee"]
    assert lee["n"] == 30 and lee["problems_file"] == str(path)
    assert 0.0 <= lee["accuracy"] <= 1.0 and "correct" not in lee
    assert lee["n_heldout_split"] + 0 <= 30
    assert math.isnan(lee["accuracy_heldout_split"]) or 0 <= lee["accuracy_heldout_split"] <= 1
