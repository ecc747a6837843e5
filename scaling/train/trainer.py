"""``train(run) -> RunResult``: one run, exactly at its FLOP budget. No Hydra; files are the
caller's (``runs.hooks`` writes metrics and checkpoints through ``Hooks``).

Recipe (Hoffmann et al. 2022, §3 and App. A): AdamW, linear warmup then cosine decay to 10% of
the peak learning rate over the run's own length, gradient clipping at 1.0. The peak learning
rate follows the width rule of ``OptimConfig.peak_lr``. Seeding is deterministic (model init,
data order) and the thread count is set per run. Held-out losses are measured at
``eval.points`` evenly spaced steps and at the end, task accuracy at the end.

Callers observe and persist a run through ``Hooks`` (the runner writes metrics.jsonl and
checkpoints); ``resume`` continues from a state saved by ``Trainer.state_dict``.

Preemption: SIGTERM (what SLURM sends before it preempts or ends a job) is noted while a run
trains; at the next step boundary the run is checkpointed (``Hooks.checkpoint``) and the
process exits with ``Preempted`` (status 1, one line), so that the scheduler requeues it and
the relaunch resumes from that step with the same curve.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NoReturn

import numpy as np
import torch

from scaling.core import faults, flops
from scaling.core.config import RunConfig
from scaling.data.stream import TokenStream, build_eval_stream, build_train_stream
from scaling.data.tokenizer import run_tokenizer
from scaling.model.transformer import Transformer
from scaling.tokenizers.base import Tokenizer
from scaling.train.device import autocast_context, resolve_device
from scaling.train.evaluate import stream_loss, task_accuracy
from scaling.train.plan import RunPlan, make_plan
from scaling.train.schedule import lr_at
from scaling.train.tasks import split_accuracy, task_examples

# A run has diverged when its training loss exceeds 4x the loss of a uniform guess, ln(vocab): an
# initialised model starts near ln(vocab) (N(0, 0.02) weights give near-uniform logits). Measured
# on the 32 quickstart runs (fresh-clone `make demo`, 2026-12-01): step-0 loss 0.82-1.00 x
# ln(257), the highest logged loss after step 0 1.56 x ln(257), so 4x leaves 2.6x headroom over
# any healthy step while a blow-up (inf/NaN, or loss far above chance) stops the run at once.
DIVERGED_LOSS_FACTOR = 4.0
# train_loss is the mean logged training loss over the last 1/20 of the logged steps (the last 5%
# of training): a smoothed end point like the final-loss windows of Hoffmann et al. 2022 §3.1
# learning curves; the held-out loss, not this, is what the fits use.
TRAIN_LOSS_TAIL = 20


class Diverged(RuntimeError):
    """Training produced a non-finite or exploding loss; the run is marked failed."""


class Preempted(SystemExit):
    """SIGTERM arrived while training: the runs of this process were checkpointed at a step
    boundary and it exits (status 1, this one line). A ``SystemExit``, so that the runner's
    ``except Exception`` (which marks a crashed run failed) lets it through: the run stays
    interrupted and resumes when relaunched."""

    def __init__(self, message: str) -> None:
        super().__init__(f"preempted: {message}")
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:  # re-raised from a worker process by joblib
        return type(self), (self.message,)


class Preemption:
    """SIGTERM noted while a training loop runs (``deferred``), for the loop to act on at its
    next step boundary. The handler is installed only around a loop in the main thread (a loop
    in another thread leaves the process's handling alone) and the previous one restored
    after; a SIGTERM noted during a run's final evaluation stops the next run before its first
    step."""

    def __init__(self) -> None:
        self.requested = False

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.signal(signal.SIGTERM, self._note)
        try:
            yield
        finally:
            signal.signal(signal.SIGTERM, previous)

    def _note(self, signum: int, frame: Any) -> None:
        self.requested = True


PREEMPTION = Preemption()  # the process's one: every loop of this process stops on SIGTERM


def preempted(where: str, steps: int | None) -> NoReturn:
    """Raise ``Preempted`` for runs stopped at ``where`` (checkpointed when ``steps``); the
    request is consumed (a caller that goes on trains its next run)."""
    PREEMPTION.requested = False
    saved = f"checkpointed {where}" if steps else f"stopped {where} (its checkpoint is current)"
    raise Preempted(f"SIGTERM; {saved}; launch the same command again to resume")


class Hooks:
    """Observer of a run. Override what you need; the default does nothing."""

    def on_start(self, info: dict[str, Any]) -> None: ...
    def on_step(self, record: dict[str, Any]) -> None: ...
    def on_eval(self, record: dict[str, Any], trainer: Trainer) -> None: ...
    def maybe_checkpoint(self, trainer: Trainer) -> None: ...
    def checkpoint(self, trainer: Trainer) -> None:
        """Save the run's state now (preemption: ``Preempted``)."""


@dataclass
class RunResult:
    """Everything measured in one run; ``scaling.runs.runner`` writes it as result.json."""

    plan: dict[str, Any]
    params_by_group: dict[str, int]
    params: dict[str, int]
    flops_by_convention: dict[str, float]
    tokens: int
    tokens_supervised: int
    steps: int
    unique_tokens: int
    epochs: float
    train_loss: float
    final_eval: dict[str, dict[str, float]]
    task: dict[str, dict[str, Any]]
    wall_seconds: float
    train_seconds: float
    tokens_per_second: float
    data_sources: dict[str, Any]
    tokenizer: dict[str, Any]
    curve: list[dict[str, Any]] = field(default_factory=list)
    evals: list[dict[str, Any]] = field(default_factory=list)
    eval_seconds: float = 0.0  # held-out evaluations (periodic and final), this attempt
    task_seconds: float = 0.0  # task accuracy (generation and verification), this attempt


class Trainer:
    """Holds the state of one run; ``run_to_end`` trains to the budget."""

    def __init__(
        self, run: RunConfig, tokenizer: Tokenizer | None = None, plan: RunPlan | None = None
    ) -> None:
        """``plan``: the run's ``RunPlan`` computed once by the caller (``runs.runner``); made
        here from the config when absent (notebooks, tests)."""
        self.run = run
        torch.set_num_threads(run.runtime.threads)
        self.device = resolve_device(run.runtime.device, run.runtime.job_index)
        if self.device.startswith("cuda"):
            torch.cuda.set_device(self.device)
        self.tok = tokenizer or run_tokenizer(run)
        plan = plan or make_plan(run, self.tok.vocab_size)
        if plan.vocab_size != self.tok.vocab_size:
            raise ValueError(
                f"plan for vocabulary {plan.vocab_size} given to a run whose tokenizer has "
                f"{self.tok.vocab_size} ids"
            )
        self.shape, self.plan, self.peak_lr = plan.shape, plan.budget, plan.peak_lr
        self._check_task_files()
        torch.manual_seed(run.seed)
        self.model = Transformer(self.shape).to(self.device)
        self.autocast = autocast_context(run.runtime.precision, self.device)
        self.step_model = torch.compile(self.model) if run.runtime.compile else self.model
        o = run.optim
        self.optimizer = torch.optim.AdamW(
            self.model.optimizer_groups(o.weight_decay),
            lr=self.peak_lr,
            betas=(o.beta1, o.beta2),
            eps=o.eps,
            foreach=True,  # multi-tensor update; torch defaults to it only on CUDA
        )
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.step = 0
        self.curve: list[dict[str, Any]] = []
        self.evals: list[dict[str, Any]] = []
        self.tokens_supervised = 0
        self.train_seconds = 0.0
        self.eval_seconds = 0.0
        self.task_seconds = 0.0
        self._train_stream: TokenStream | None = None
        self._eval_streams: dict[str, TokenStream] = {}

    # ---- data -----------------------------------------------------------------------------
    def train_stream(self) -> TokenStream:
        if self._train_stream is None:
            self._train_stream = build_train_stream(
                self.run.data,
                self.tok,
                self.plan.tokens,
                seed=self.run.seed,
                cache_dir=self.run.runtime.cache_dir,
            )
        return self._train_stream

    def eval_streams(self) -> dict[str, TokenStream]:
        if not self._eval_streams:
            ev = self.run.eval
            n = max(ev.tokens_per_domain, ev.final_tokens_per_domain)
            for name, src in ev.domains.items():
                self._eval_streams[name] = build_eval_stream(
                    name, src, self.tok, n, seed=ev.seed, cache_dir=self.run.runtime.cache_dir
                )
        return self._eval_streams

    # ---- state ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "curve": self.curve,
            "evals": self.evals,
            "tokens_supervised": self.tokens_supervised,
            "train_seconds": self.train_seconds,
            "torch_rng": torch.get_rng_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = int(state["step"])
        self.curve = list(state["curve"])
        self.evals = list(state["evals"])
        self.tokens_supervised = int(state["tokens_supervised"])
        self.train_seconds = float(state["train_seconds"])
        torch.set_rng_state(state["torch_rng"])

    # ---- evaluation -----------------------------------------------------------------------
    def evaluate(self, final: bool = False) -> dict[str, Any]:
        faults.point("train.evaluate")
        t0 = time.perf_counter()
        try:
            return self._evaluate(final)
        finally:
            self.eval_seconds += time.perf_counter() - t0

    def _evaluate(self, final: bool) -> dict[str, Any]:
        ev = self.run.eval
        n = ev.final_tokens_per_domain if final else ev.tokens_per_domain
        tb = self.tok.token_bytes()
        record: dict[str, Any] = {
            "step": self.step,
            "tokens": self.step * self.plan.tokens_per_step,
        }
        record["flops"] = record["tokens"] * self.plan.flops_per_token
        for name, stream in self.eval_streams().items():
            r = stream_loss(
                self.model,
                stream,
                tb,
                batch_size=self.run.optim.batch_size,
                max_tokens=n,
                device=self.device,
            )
            record[f"val/{name}/loss"] = r["loss"]
            record[f"val/{name}/bpb"] = r["bpb"]
        return record

    def evaluate_tasks(self) -> dict[str, dict[str, Any]]:
        faults.point("train.tasks")
        t0 = time.perf_counter()
        try:
            return self._evaluate_tasks()
        finally:
            self.task_seconds += time.perf_counter() - t0

    def _evaluate_tasks(self) -> dict[str, dict[str, Any]]:
        from scaling.data import generators

        out = {}
        for name, task in self.run.eval.tasks.items():
            if task.n_problems == 0:
                continue
            gen = generators.get(task.generator, **dict(task.params))
            examples = task_examples(gen, task, self.run.eval.seed, f"eval.tasks.{name}")
            out[name] = task_accuracy(
                self.model,
                self.tok,
                gen,
                examples,
                max_new_tokens=task.max_new_tokens,
                device=self.device,
            )
            if task.problems_file is not None:
                out[name] |= split_accuracy(out[name].pop("correct"), examples)
                out[name]["problems_file"] = task.problems_file
            else:
                out[name].pop("correct", None)
        return out

    def _check_task_files(self) -> None:
        """Fail before training, not after, on a test file the task cannot read."""
        from scaling.data import generators

        for name, task in self.run.eval.tasks.items():
            if task.problems_file is not None and task.n_problems:
                gen = generators.get(task.generator, **dict(task.params))
                task_examples(gen, task, self.run.eval.seed, f"eval.tasks.{name}")

    def eval_steps(self) -> set[int]:
        """Steps after which a periodic evaluation runs (evenly spaced, the last excluded)."""
        k, s = self.run.eval.points, self.plan.steps
        return {round(s * i / (k + 1)) for i in range(1, k + 1)} - {0, s}

    # ---- training -------------------------------------------------------------------------
    def run_to_end(self, hooks: Hooks | None = None) -> RunResult:
        """Train to the budget, evaluate, and return the result; on SIGTERM, checkpoint at the
        next step boundary and raise ``Preempted`` (module docstring)."""
        with PREEMPTION.deferred():
            return self._run_to_end(hooks or Hooks())

    def _run_to_end(self, hooks: Hooks) -> RunResult:
        wall0 = time.perf_counter()
        data = self.train_stream()
        self.eval_streams()
        o, steps, T = self.run.optim, self.plan.steps, self.run.model.context
        hooks.on_start({"steps": steps, "tokens": self.plan.tokens, "resumed_at": self.step})
        eval_at = self.eval_steps()
        log_every = max(1, steps // 200)
        self.model.train()
        start = self.step
        while self.step < steps:
            if PREEMPTION.requested:
                self._preempt(hooks, start)
            t0 = time.perf_counter()
            lr = lr_at(self.step, steps, self.peak_lr, o.warmup_fraction, o.final_lr_fraction)
            for g in self.optimizer.param_groups:
                g["lr"] = lr
            x, y, m = data.batch(self.step, o.batch_size, T)
            xt = torch.as_tensor(x.astype(np.int64), device=self.device)
            yt = torch.as_tensor(y.astype(np.int64), device=self.device)
            mt = None if m is None else torch.as_tensor(m, device=self.device)
            with self.autocast:
                _, loss = self.step_model(xt, yt, mt)
            loss_value = float(loss.detach())
            if not math.isfinite(loss_value) or loss_value > DIVERGED_LOSS_FACTOR * math.log(
                self.tok.vocab_size
            ):
                raise Diverged(f"loss {loss_value:.4g} at step {self.step} (lr {lr:.3g})")
            loss.backward()
            faults.point("train.step.backward_done")
            grad_norm = (
                float(torch.nn.utils.clip_grad_norm_(self.params, o.grad_clip, foreach=True))
                if o.grad_clip > 0
                else float("nan")
            )
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
            self.tokens_supervised += int(m.sum()) if m is not None else o.batch_size * T
            self.step += 1
            self.train_seconds += time.perf_counter() - t0
            if self.step % log_every == 0 or self.step == steps:
                rec = {
                    "step": self.step,
                    "tokens": self.step * self.plan.tokens_per_step,
                    "loss": loss_value,
                    "lr": lr,
                    "grad_norm": grad_norm,
                    "tokens_per_second": self.step
                    * self.plan.tokens_per_step
                    / max(self.train_seconds, 1e-9),
                }
                rec["flops"] = rec["tokens"] * self.plan.flops_per_token
                self.curve.append(rec)
                hooks.on_step(rec)
            faults.point("train.step.end")
            if self.step in eval_at:
                rec = self.evaluate()
                self.evals.append(rec)
                hooks.on_eval(rec, self)
            hooks.maybe_checkpoint(self)
        final, task = self.final_evaluation()
        hooks.on_eval(final, self)
        return self._result(final, task, time.perf_counter() - wall0)

    def _preempt(self, hooks: Hooks, start: int) -> NoReturn:
        """Checkpoint the steps taken since ``start`` (none: the last checkpoint is current)."""
        if self.step > start:
            hooks.checkpoint(self)
        preempted(f"at step {self.step} of {self.plan.steps}", self.step - start)

    def final_evaluation(self) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """The final held-out evaluation (recorded in ``evals``) and the task accuracies."""
        final = self.evaluate(final=True)
        final["final"] = True
        self.evals.append(final)
        task = self.evaluate_tasks()
        for name, r in task.items():
            final[f"task/{name}/accuracy"] = r["accuracy"]
        return final, task

    def _result(self, final: dict[str, Any], task: dict[str, Any], wall: float) -> RunResult:
        data = self.train_stream()
        window = max(1, len(self.curve) // TRAIN_LOSS_TAIL)
        tail = [r["loss"] for r in self.curve[-window:]]
        plan = self.plan
        final_eval = {
            name: {"loss": final[f"val/{name}/loss"], "bpb": final[f"val/{name}/bpb"]}
            for name in self.eval_streams()
        }
        return RunResult(
            plan={
                "target_flops": plan.target_flops,
                "convention": plan.convention,
                "flops_per_token": plan.flops_per_token,
                "tokens_per_step": plan.tokens_per_step,
                "relative_error": plan.relative_error,
                "peak_lr": self.peak_lr,
            },
            params_by_group=flops.param_groups(self.shape),
            params=_params_by_convention(self.shape),
            flops_by_convention=flops.flops_all_conventions(self.shape, plan.tokens),
            tokens=plan.tokens,
            tokens_supervised=self.tokens_supervised,
            steps=plan.steps,
            unique_tokens=data.unique_tokens,
            epochs=data.epochs,
            train_loss=float(np.mean(tail)),
            final_eval=final_eval,
            task=task,
            wall_seconds=wall,
            train_seconds=self.train_seconds,
            tokens_per_second=plan.tokens / max(self.train_seconds, 1e-9),
            data_sources=data.sources,
            tokenizer={
                "kind": self.run.tokenizer.kind,
                "name": self.tok.name,
                "vocab_size": self.tok.vocab_size,
                "fingerprint": self.tok.fingerprint(),
            },
            curve=self.curve,
            evals=self.evals,
            eval_seconds=self.eval_seconds,
            task_seconds=self.task_seconds,
        )


def train(
    run: RunConfig, hooks: Hooks | None = None, resume: dict[str, Any] | None = None
) -> RunResult:
    """Train one run to its budget and evaluate it."""
    trainer = Trainer(run)
    if resume is not None:
        trainer.load_state_dict(resume)
    return trainer.run_to_end(hooks)


def _params_by_convention(shape: flops.Shape) -> dict[str, int]:
    """N under every FLOP convention, plus the total and non-embedding counts."""
    by = {c: flops.params_for_convention(shape, c) for c in flops.CONVENTIONS}
    return by | {"total": flops.params_total(shape), "nonembed": flops.params_nonembed(shape)}
