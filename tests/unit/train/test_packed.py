"""Packed training (``scaling.train.packed``): K runs in one batched computation are K solo runs.

The solo reference is the loop of ``Trainer.run_to_end``: ``torch.manual_seed(seed)`` then
``Transformer(shape)``, ``torch.optim.AdamW(foreach=True)`` on ``optimizer_groups``, the lr of
``lr_at`` set on every group each step, ``clip_grad_norm_(foreach=True)``, ``zero_grad``.
Measured (torch 2.13 CPU, 1 and 2 threads): per-step losses, grad norms and weights bitwise
equal; asserted: relative 1e-5 (``RTOL``), since batched kernels need not sum as the solo ones
do on other hardware.
"""

import math

import numpy as np
import pytest
import torch

from scaling.core.config import OptimConfig
from scaling.core.flops import Shape
from scaling.model.transformer import Transformer
from scaling.train.packed import (
    PackedAdamW,
    PackedLoop,
    PackedModel,
    PackedRun,
    build_runs,
    packed_step,
)
from scaling.train.schedule import lr_at

RTOL = 1e-5  # asserted; measured 0.0 on this CPU (see the module docstring)
B, T = 2, 32
SHAPES = [
    Shape(1, 16, 2, 64, 32, 257, True),
    Shape(2, 32, 4, 128, 32, 257, False),
]
OPTIM = OptimConfig(grad_clip=0.5, weight_decay=0.1)
RUNS = [  # seed, steps, peak lr, warmup fraction: own init, length and schedule
    PackedRun(seed=0, steps=40, peak_lr=1e-2, warmup_fraction=0.1),
    PackedRun(seed=1, steps=25, peak_lr=3e-3, warmup_fraction=0.0),
    PackedRun(seed=2, steps=33, peak_lr=6e-3, warmup_fraction=0.3, final_lr_fraction=0.2),
]


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def batches(seed: int, steps: int, vocab: int, masked: bool):
    """A run's own batches: a chain over 16 of the ``vocab`` tokens, each token followed by its
    successor under a run-specific permutation 80% of the time (learnable within 40 steps),
    the targets the next tokens; with ``masked``, a random half of the positions supervised."""
    rng = np.random.default_rng(1000 + seed)
    succ = rng.permutation(16)
    seq = np.empty((steps, B, T + 1), dtype=np.int64)
    seq[:, :, 0] = rng.integers(0, 16, (steps, B))
    for t in range(T):
        jump = rng.random((steps, B)) < 0.2
        seq[:, :, t + 1] = np.where(jump, rng.integers(0, 16, (steps, B)), succ[seq[:, :, t]])
    seq = seq * (vocab // 16)  # spread over the vocabulary
    mask = rng.random((steps, B, T)) < 0.5 if masked else None
    return [
        (seq[s, :, :-1], seq[s, :, 1:], None if mask is None else mask[s]) for s in range(steps)
    ]


def solo(shape: Shape, run: PackedRun, data, optim: OptimConfig = OPTIM):
    """The trainer's loop for one run; per-step (loss, grad norm) and the trained model."""
    torch.manual_seed(run.seed)
    model = Transformer(shape)
    opt = torch.optim.AdamW(
        model.optimizer_groups(optim.weight_decay),
        lr=run.peak_lr,
        betas=(optim.beta1, optim.beta2),
        eps=optim.eps,
        foreach=True,
    )
    params = [p for p in model.parameters() if p.requires_grad]
    curve = []
    for step in range(run.steps):
        lr = lr_at(step, run.steps, run.peak_lr, run.warmup_fraction, run.final_lr_fraction)
        for g in opt.param_groups:
            g["lr"] = lr
        x, y, m = data[step]
        xt, yt = torch.as_tensor(x.astype(np.int64)), torch.as_tensor(y.astype(np.int64))
        mt = None if m is None else torch.as_tensor(m)
        _, loss = model(xt, yt, mt)
        loss.backward()
        norm = float(torch.nn.utils.clip_grad_norm_(params, optim.grad_clip, foreach=True))
        opt.step()
        opt.zero_grad(set_to_none=True)
        curve.append((float(loss.detach()), norm))
    return curve, model


def assert_close(got, want, what):
    rel = max(abs(a - b) / abs(b) for a, b in zip(got, want, strict=True))
    assert rel <= RTOL, f"{what}: max relative difference {rel:.3g} > {RTOL}"


@pytest.mark.parametrize("shape", SHAPES, ids=["1layer_tied", "2layer_untied"])
def test_packed_step_equals_solo_runs(shape):
    """(a) 3 runs, own seeds, lrs, warmups, lengths, batches (one masked): solo losses."""
    data = [batches(r.seed, r.steps, shape.vocab_size, masked=k == 1) for k, r in enumerate(RUNS)]
    want = [solo(shape, r, d) for r, d in zip(RUNS, data, strict=True)]
    model = PackedModel(shape, [r.seed for r in RUNS])
    opt = PackedAdamW.from_config(model, OPTIM)
    got: list[list[tuple[float, float]]] = [[] for _ in RUNS]
    for step in range(max(r.steps for r in RUNS)):
        active = [step < r.steps for r in RUNS]
        lr = [
            lr_at(step, r.steps, r.peak_lr, r.warmup_fraction, r.final_lr_fraction) if a else 0.0
            for r, a in zip(RUNS, active, strict=True)
        ]
        rows = [d[min(step, len(d) - 1)] for d in data]  # a finished run's row: anything
        x = torch.stack([torch.as_tensor(r[0].astype(np.int64)) for r in rows])
        y = torch.stack([torch.as_tensor(r[1].astype(np.int64)) for r in rows])
        m = [None if r[2] is None else torch.as_tensor(r[2]) for r in rows]
        losses, norms = packed_step(model, opt, (x, y, m), lr, active, OPTIM.grad_clip)
        for k, a in enumerate(active):
            if a:
                got[k].append((float(losses[k]), float(norms[k])))
            else:
                assert math.isnan(losses[k]) and math.isnan(norms[k])
    for k, (curve, trained) in enumerate(want):
        assert len(got[k]) == RUNS[k].steps
        assert_close([c[0] for c in got[k]], [c[0] for c in curve], f"run {k} loss")
        assert_close([c[1] for c in got[k]], [c[1] for c in curve], f"run {k} grad norm")
        assert any(c[1] > OPTIM.grad_clip for c in curve)  # clipping was exercised
        assert curve[-1][0] < curve[0][0]  # it learned
        for key, w in model.unstack(k).items():
            torch.testing.assert_close(w, trained.state_dict()[key], rtol=RTOL, atol=1e-6)
    assert opt.steps == [r.steps for r in RUNS]


def test_loop_sheds_finished_runs_and_matches_solo():
    """(a) through ``PackedLoop``: runs leave the pack as they end, the rest compacted."""
    shape = SHAPES[0]
    data = [batches(r.seed, r.steps, shape.vocab_size, masked=False) for r in RUNS]
    loop = PackedLoop(shape, RUNS, OPTIM)
    got: dict[int, list[float]] = {k: [] for k in range(len(RUNS))}
    sizes = []
    while not loop.done:
        sizes.append(loop.model.K)
        out = loop.train_step({k: data[k][loop.step] for k in loop.pending})
        for k, rec in out.items():
            got[k].append(rec["loss"])
    assert sorted(set(sizes), reverse=True) == [3, 2, 1] and not loop.failed
    for k, r in enumerate(RUNS):
        curve, trained = solo(shape, r, data[k])
        assert_close(got[k], [c[0] for c in curve], f"run {k} loss")
        plain = Transformer(shape)
        plain.load_state_dict(loop.finished[k])
        for key, w in plain.state_dict().items():
            torch.testing.assert_close(w, trained.state_dict()[key], rtol=RTOL, atol=1e-6)


def test_stopped_run_stops_changing():
    """(b) an inactive run keeps its weights, moments and step count exactly, even fed junk."""
    shape = SHAPES[0]
    model = PackedModel(shape, [3, 4])
    opt = PackedAdamW(model)
    g = torch.Generator().manual_seed(0)
    for step in range(8):
        x = torch.randint(0, shape.vocab_size, (2, B, T), generator=g)
        active = [step < 3, True]
        if step == 3:
            frozen = (model.W[0].clone(), opt.exp_avg[0].clone(), opt.exp_avg_sq[0].clone())
            moving = model.W[1].clone()
        losses, _ = packed_step(model, opt, (x, x.roll(1, -1), None), [1e-2, 1e-2], active, 1.0)
        assert math.isnan(losses[0]) == (not active[0])
    assert torch.equal(model.W[0], frozen[0])
    assert torch.equal(opt.exp_avg[0], frozen[1]) and torch.equal(opt.exp_avg_sq[0], frozen[2])
    assert opt.steps == [3, 8]
    assert not torch.equal(model.W[1], moving)


def test_diverged_run_is_not_stepped_and_leaves_the_loop():
    shape = SHAPES[0]
    data = batches(0, 4, shape.vocab_size, masked=False)
    loop = PackedLoop(shape, RUNS[:2], OPTIM, max_loss=0.0)  # every loss "diverges"
    before = loop.model.W.clone()
    out = loop.train_step({0: data[0], 1: data[0]})
    assert loop.done and set(loop.failed) == {0, 1} and not loop.finished
    assert "at step 0" in loop.failed[0] and math.isnan(out[0]["grad_norm"])
    assert torch.equal(loop.model.W, before) and loop.optimizer.steps == [0, 0]


@pytest.mark.parametrize("shape", SHAPES, ids=["1layer_tied", "2layer_untied"])
def test_unstack_loads_into_a_plain_transformer_with_the_packed_logits(shape):
    """(c) after some packed steps, ``unstack(k)`` is a plain Transformer giving run k's
    logits; the pack's seeds give the solo trainer's initial weights."""
    model = PackedModel(shape, [5, 6, 7])
    for k, solo_init in enumerate(build_runs(shape, [5, 6, 7])):
        assert all(torch.equal(w, solo_init.state_dict()[n]) for n, w in model.unstack(k).items())
    opt = PackedAdamW(model)
    x = torch.randint(0, shape.vocab_size, (3, B, T))
    for _ in range(3):
        packed_step(model, opt, (x, x.roll(1, -1), None), [1e-2, 2e-2, 5e-3], [True] * 3, 1.0)
    with torch.no_grad():
        logits, _ = model(x)
    assert logits.shape == (3, B, T, shape.vocab_size)
    for k in range(3):
        plain = Transformer(shape)
        plain.load_state_dict(model.unstack(k))  # strict: every key, the tied head included
        with torch.no_grad():
            want, _ = plain(x[k])
        torch.testing.assert_close(logits[k], want, rtol=RTOL, atol=1e-6)
        torch.testing.assert_close(model.to_transformer(k)(x[k])[0], want, rtol=0, atol=0)


def test_single_run_pack_equals_solo():
    """(d) K=1 is the solo run."""
    shape, run = SHAPES[1], RUNS[2]
    data = batches(run.seed, run.steps, shape.vocab_size, masked=True)
    curve, _ = solo(shape, run, data)
    loop = PackedLoop(shape, [run], OPTIM)
    got = [loop.train_step({0: data[loop.step]})[0]["loss"] for _ in range(run.steps)]
    assert loop.done
    assert_close(got, [c[0] for c in curve], "loss")


def test_optimizer_is_torch_adamw_bitwise_and_unstacks_into_it():
    """Same gradients in, same weights out as torch.optim.AdamW(foreach=True), bit for bit,
    with per-run lrs and one run paused; run k's state loads into a torch AdamW."""
    shape = SHAPES[1]
    seeds, lrs = [0, 1], [1e-2, 3e-3]
    models = build_runs(shape, seeds)
    packed = PackedModel.from_models(models)
    popt = PackedAdamW(packed, (0.9, 0.95), 1e-8, 0.1)
    opts = [
        torch.optim.AdamW(m.optimizer_groups(0.1), lr=lr, betas=(0.9, 0.95), foreach=True)
        for m, lr in zip(models, lrs, strict=True)
    ]
    g = torch.Generator().manual_seed(0)
    for step in range(4):
        active = [True, step != 2]
        packed.zero_grad()
        for k, m in enumerate(models):
            for n, p in m.named_parameters():
                p.grad = torch.randn(p.shape, generator=g)
                packed.params[n].grad[k] = p.grad
            if active[k]:
                opts[k].step()
        popt.step(lrs, active)
        for k, m in enumerate(models):
            assert all(torch.equal(w, m.state_dict()[n]) for n, w in packed.unstack(k).items())
    fresh = Transformer(shape)
    fresh.load_state_dict(packed.unstack(1))
    opt = torch.optim.AdamW(fresh.optimizer_groups(0.1), lr=lrs[1], foreach=True)
    opt.load_state_dict(popt.unstack(1, lrs[1]))
    ref = opts[1].state_dict()["state"]
    for i, st in opt.state_dict()["state"].items():
        assert float(st["step"]) == float(ref[i]["step"]) == 3
        assert torch.equal(st["exp_avg"], ref[i]["exp_avg"])
        assert torch.equal(st["exp_avg_sq"], ref[i]["exp_avg_sq"])
