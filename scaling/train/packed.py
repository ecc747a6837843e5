"""Train K runs of one ``Shape`` as one batched computation (issue 11, item 1: the engine).

Its one job: step K independent runs of the same model shape together, so that the
per-operation overhead that bounds a small model at 512 tokens a step is paid once per pack
instead of once per run. Each run keeps everything that makes it a run of its own: its initial
weights (built under ``torch.manual_seed(seed)`` exactly as ``train.trainer.Trainer`` does), its
batches, its learning rate at every step (a per-run vector, so peak, warmup and length differ),
its stopping step (a run that is not stepped does not change at all: not its weights, not its
optimizer moments, not its step count), its gradient clipping (the global norm over its own
parameters) and AdamW with ``torch.optim.AdamW``'s semantics (decoupled decay on the
parameters ``Transformer.optimizer_groups`` decays, bias correction by the run's own step count).

``PackedModel`` holds the K models, ``PackedAdamW`` their optimizer, ``packed_step`` does one
step of every active run, and ``PackedLoop`` runs a pack to the end of its longest run,
shedding runs as they finish or diverge.

Design, chosen by measurement (``scripts/bench_pack.py``): an explicit batched-weights model.
Every run's parameters live in one row of a flat ``(K, P)`` buffer ``W`` (decayed parameters
first); each named parameter is a ``(K, *shape)`` strided view of it. The matmuls are
``torch.bmm`` over the model axis, attention folds the model axis into the batch of
``scaled_dot_product_attention``, the embedding is one lookup in the K tables laid end to end.
The LayerNorms and the head + loss run run by run: the LayerNorm so that its gain gradient is
summed exactly as the solo op sums it (no cost measurable), the head because one
(K, B*T, vocab) logits tensor falls out of cache and its softmax, fill and backward become
memory bound (measured side by side, K=8: xs 1.11x -> 1.72x the solo loops' throughput, m
1.26x -> 1.35x). Gradients accumulate into a flat ``(K, P)`` buffer ``G``, so the
whole AdamW update is about ten tensor ops for all K runs where K solo loops issue ~10 ops per
parameter tensor per run. ``torch.func.vmap`` over ``functional_call`` of a plain
``Transformer`` (the same ``PackedAdamW``) is the alternative the benchmark also measures: it
has no batching rule for CPU flash attention (it falls back to a per-sample loop) and was
slower than the explicit model on every shape and K measured (xs, m, l, d_model 128; K 1-8),
slower than the solo loops at K=1, and at most 1.2x them at K=8.

Equality guarantee: a packed run is its solo run. Against the loop of ``Trainer.run_to_end``
(``torch.optim.AdamW(foreach=True)``, ``clip_grad_norm_(foreach=True)``, ``lr_at``) on the same
batches, per-step losses, gradient norms and final weights were bitwise equal (difference 0.0)
for 3 runs with different seeds, peak lrs, warmups, lengths and masks, over 40 steps with
clipping active, on 1- and 2-layer tiny shapes, tied and untied, at 1 and 2 threads (torch 2.13
CPU, x86-64). That exactness rests on batched CPU kernels (bmm, SDPA, embedding backward, row
norms) computing each run's slice as the solo kernel does, which holds here but is not promised
by torch on other hardware or backends; ``tests/unit/train/test_packed.py`` therefore asserts a
relative 1e-5 over 40 steps, and the optimizer update alone bitwise.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from scaling.core.config import OptimConfig
from scaling.core.flops import Shape
from scaling.model.transformer import Transformer
from scaling.train.packed_model import PackedModel, build_runs
from scaling.train.packed_optim import PackedAdamW
from scaling.train.schedule import lr_at

__all__ = ["PackedAdamW", "PackedLoop", "PackedModel", "PackedRun", "build_runs", "packed_step"]


def packed_step(
    model: PackedModel,
    optimizer: PackedAdamW,
    batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor | Sequence[torch.Tensor | None] | None],
    lr: Sequence[float],
    active: Sequence[bool],
    grad_clip: float,
    max_loss: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimizer step of every active run; returns per-run loss and grad norm, (K,) each.

    ``batch`` is (x, y, mask): (K, B, T) token tensors, run k's batch in row k (anything for
    an inactive run), and a mask as ``PackedModel.forward`` takes it. An inactive run's loss
    is NaN and its gradient exactly zero, so ``PackedAdamW.step`` leaves it untouched. With
    ``max_loss``, a run whose loss is not finite or exceeds it is not stepped either (the
    trainer's divergence check, made before the update); the caller sees its loss and stops
    it. The grad norm is the one before clipping (``clip_grad_norm_``'s return), NaN for a run
    not stepped; ``grad_clip`` 0 disables clipping, as ``OptimConfig.grad_clip`` does.
    """
    x, y, m = batch
    model.zero_grad()
    _, losses = model(x, y, m, runs=active)
    stepped = [bool(a) for a in active]
    if max_loss is not None:
        values = losses.tolist()
        stepped = [
            a and math.isfinite(v) and v <= max_loss for a, v in zip(stepped, values, strict=True)
        ]
    if any(stepped):
        on = torch.tensor(stepped, device=losses.device)
        with warnings.catch_warnings():  # grads are strided views of G, by design
            warnings.filterwarnings("ignore", message="grad and param do not obey")
            torch.where(on, losses, torch.zeros_like(losses)).sum().backward()
    norms = optimizer.clip_grad_norm_(grad_clip, stepped)
    optimizer.step(lr, stepped)
    return losses.detach(), norms


@dataclass(frozen=True)
class PackedRun:
    """One run of a pack: its seed (model init), its length and its ``lr_at`` schedule."""

    seed: int
    steps: int
    peak_lr: float
    warmup_fraction: float = 0.05
    final_lr_fraction: float = 0.1
    start: int = 0  # the step it resumes at (its weights and optimizer state given to the loop)


class PackedLoop:
    """Steps a pack of runs of one shape in lockstep, shedding each run when it ends.

    Run k starts at its step ``runs[k].start`` (0, or the step of the checkpoint it resumes
    from, whose weights and ``torch.optim.AdamW`` state come in ``models`` and
    ``optimizer_states``); at every loop iteration each pending run takes its own next step s =
    ``run_step[k]``, at ``lr_at(s, run.steps, run.peak_lr, run.warmup_fraction,
    run.final_lr_fraction)``, on the batch the caller gives it (``data.batch(s, batch_size, T)``
    of its own stream). A run
    leaves the pack after its last step, or at once when its loss diverges (non-finite or
    above ``max_loss``, by default the trainer's ``DIVERGED_LOSS_FACTOR * ln(vocab)``; its
    reason is kept in ``failed``). On leaving, its weights are kept in ``finished`` as a plain
    ``Transformer`` state_dict; the remaining runs are compacted so no compute is spent on it.
    ``pending`` lists the runs (indices into ``runs``) still training, ``model_of(k)`` gives a
    pending run as a plain ``Transformer`` (for a mid-run evaluation or checkpoint).
    """

    def __init__(
        self,
        shape: Shape,
        runs: Sequence[PackedRun],
        optim: OptimConfig,
        device: str = "cpu",
        max_loss: float | None = None,
        models: Sequence[Transformer] | None = None,
        optimizer_states: Sequence[dict[str, Any] | None] | None = None,
    ) -> None:
        """``models``: each run's current weights (default: built from its seed);
        ``optimizer_states``: each run's ``torch.optim.AdamW`` state_dict, None for a fresh one."""
        from scaling.train.trainer import DIVERGED_LOSS_FACTOR  # trainer may import this module

        self.runs = list(runs)
        if models is None:
            self.model = PackedModel(shape, [r.seed for r in self.runs]).to(device)
        else:
            self.model = PackedModel.from_models(models).to(device)
        self.optimizer = PackedAdamW.from_config(self.model, optim)
        for k, state in enumerate(optimizer_states or []):
            if state is not None and state.get("state"):
                self.optimizer.load_row(k, state)
        self.grad_clip = optim.grad_clip
        self.device = device
        self.max_loss = (
            DIVERGED_LOSS_FACTOR * math.log(shape.vocab_size) if max_loss is None else max_loss
        )
        self.step = 0  # loop iterations done
        self.run_step = [r.start for r in self.runs]  # each run's steps done
        self.pending: list[int] = list(range(len(self.runs)))  # run index of each row
        self.failed: dict[int, str] = {}
        self.finished: dict[int, dict[str, torch.Tensor]] = {}
        self._shed([k for k in self.pending if self.run_step[k] >= self.runs[k].steps])

    @property
    def done(self) -> bool:
        return not self.pending

    def lr(self, k: int) -> float:
        r = self.runs[k]
        return lr_at(self.run_step[k], r.steps, r.peak_lr, r.warmup_fraction, r.final_lr_fraction)

    def model_of(self, k: int) -> Transformer:
        """Pending run k as a plain ``Transformer`` (a copy)."""
        return self.model.to_transformer(self.pending.index(k))

    def weights_of(self, k: int) -> dict[str, torch.Tensor]:
        """Pending run k's weights as a plain ``Transformer`` state_dict (copies)."""
        return self.model.unstack(self.pending.index(k))

    def optimizer_state_of(self, k: int) -> dict[str, Any]:
        """Pending run k's optimizer state as a ``torch.optim.AdamW`` state_dict, as its solo
        trainer would hold it after the same steps (a checkpoint resumes packed or alone)."""
        return self.optimizer.unstack(self.pending.index(k), self.lr_after(k))

    def lr_after(self, k: int) -> float:
        """The learning rate run k's last step used (what its AdamW param group holds)."""
        r, s = self.runs[k], max(self.run_step[k] - 1, 0)
        return lr_at(s, r.steps, r.peak_lr, r.warmup_fraction, r.final_lr_fraction)

    def train_step(self, batches: dict[int, tuple[Any, Any, Any]]) -> dict[int, dict[str, float]]:
        """One step of every pending run k on ``batches[k]`` = (x, y, mask or None), each
        (B, T) array-like; returns per run its ``loss``, ``lr`` and ``grad_norm``."""
        if self.done:
            raise RuntimeError("every run of the pack has finished")
        xs, ys, ms = zip(*(batches[k] for k in self.pending), strict=True)

        def tokens(a: Any) -> torch.Tensor:
            return torch.as_tensor(np.asarray(a).astype(np.int64), device=self.device)

        x = torch.stack([tokens(a) for a in xs])  # (K, B, T)
        y = torch.stack([tokens(a) for a in ys])  # (K, B, T)
        m = [None if a is None else torch.as_tensor(a, device=self.device) for a in ms]
        lrs = [self.lr(k) for k in self.pending]
        active = [True] * len(self.pending)
        losses, norms = packed_step(
            self.model, self.optimizer, (x, y, m), lrs, active, self.grad_clip, self.max_loss
        )
        out, leaving = {}, []
        for row, k in enumerate(self.pending):
            loss, lr = float(losses[row]), lrs[row]
            out[k] = {"loss": loss, "lr": lr, "grad_norm": float(norms[row])}
            if not math.isfinite(loss) or loss > self.max_loss:
                self.failed[k] = f"loss {loss:.4g} at step {self.run_step[k]} (lr {lr:.3g})"
                leaving.append(k)
                continue
            self.run_step[k] += 1
            if self.run_step[k] >= self.runs[k].steps:
                leaving.append(k)
        self.step += 1
        self._shed(leaving)
        return out

    def _shed(self, leaving: list[int]) -> None:
        if not leaving:
            return
        for k in leaving:
            if k not in self.failed:
                self.finished[k] = self.model.unstack(self.pending.index(k))
        keep = [row for row, k in enumerate(self.pending) if k not in leaving]
        self.pending = [self.pending[row] for row in keep]
        if keep:
            self.model.take(keep)
            self.optimizer.take(keep)
