"""Verified tasks at the end of a run: which problems are scored, and accuracy split by whether a
published test file's problems fall in our held-out or train split."""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from scaling.core.config import TaskEvalConfig
from scaling.core.errors import UserError


def task_examples(gen: Any, task: TaskEvalConfig, seed: int, where: str) -> list[Any]:
    """The problems a task is scored on: held-out generated ones, or a seeded subsample of
    ``task.problems_file`` (kept in file order) when the generator can read such a file."""
    if task.problems_file is None:
        return gen.generate(task.n_problems, seed=seed, split="heldout")
    if not hasattr(gen, "load_problems"):
        raise UserError(
            f"{where}.problems_file: generator {task.generator!r} cannot read a test file "
            "(only arithmetic can); set problems_file=null"
        )
    examples = gen.load_problems(task.problems_file)
    if task.n_problems < len(examples):
        keep = sorted(random.Random(seed).sample(range(len(examples)), task.n_problems))
        examples = [examples[i] for i in keep]
    return examples


def split_accuracy(correct: list[bool], examples: list[Any]) -> dict[str, Any]:
    """Accuracy on the file's problems that fall in our held-out split and in our train split
    (a published test set may overlap the problems a run could have trained on)."""
    from scaling.data.generators.base import is_heldout_uid

    held = [ok for ok, ex in zip(correct, examples, strict=True) if is_heldout_uid(ex.uid)]
    train = [ok for ok, ex in zip(correct, examples, strict=True) if not is_heldout_uid(ex.uid)]
    return {
        "n_heldout_split": len(held),
        "accuracy_heldout_split": float(np.mean(held)) if held else float("nan"),
        "accuracy_train_split": float(np.mean(train)) if train else float("nan"),
    }
