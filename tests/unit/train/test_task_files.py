"""Task accuracy on a published test file (Lee et al. 2023's ``a+b=c`` lines) instead of
generated problems: validation, seeded subsampling, and the held-out/train split breakdown."""

from __future__ import annotations

import math

import pytest

from scaling.core.config import EvalConfig, SourceConfig, TaskEvalConfig
from scaling.core.errors import UserError
from scaling.data import generators
from scaling.data.generators.base import is_heldout_uid
from scaling.train.tasks import split_accuracy, task_examples
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

    # 300 lines, so that the 30 drawn problems fall in both splits (40 lines gave none of ours
    # held out, and the held-out accuracy was NaN)
    path = _lee_file(tmp_path)
    web = SourceConfig(kind="installed_docs", packages=["stdlib"])
    ev = EvalConfig(
        domains={"web": web},
        tasks={"lee": TaskEvalConfig(problems_file=str(path), n_problems=30, max_new_tokens=12)},
        tokens_per_domain=256,
        final_tokens_per_domain=512,
        points=1,
    )
    run = tiny_run(eval=ev, out_dir=tmp_path / "runs")
    rec = execute(run)
    lee = rec["task"]["lee"]
    assert lee["n"] == 30 and lee["problems_file"] == str(path)
    assert "correct" not in lee  # the per-problem list is summarised, not stored
    # the split is that of the 30 problems the run drew from the file with the eval seed
    task = ev.tasks["lee"]
    gen = generators.get(task.generator, **dict(task.params))
    drawn = task_examples(gen, task, run.eval.seed, "eval.tasks.lee")
    n_held = sum(is_heldout_uid(e.uid) for e in drawn)
    assert 0 < n_held < 30
    assert lee["n_heldout_split"] == n_held
    # accuracies are counts of correct problems, and the two splits add up to the whole
    correct = lee["accuracy"] * 30
    assert correct == pytest.approx(round(correct), abs=1e-9)
    held, train = lee["accuracy_heldout_split"], lee["accuracy_train_split"]
    assert not (math.isnan(held) or math.isnan(train))
    assert held * n_held + train * (30 - n_held) == pytest.approx(correct)
