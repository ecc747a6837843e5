"""FLOP and parameter accounting against the real module and against torch's FLOP counter."""

import itertools

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from scaling.core import flops as F
from scaling.model.transformer import Transformer

SHAPES = [
    F.Shape(1, 8, 1, 32, 16, 257, True),
    F.Shape(2, 32, 2, 128, 64, 257, True),
    F.Shape(3, 48, 3, 96, 32, 300, False),
    F.Shape(2, 64, 4, 256, 128, 1024, False),
]


@pytest.mark.parametrize("shape", SHAPES)
def test_param_groups_match_module(shape):
    model = Transformer(shape)
    assert model.param_groups() == F.param_groups(shape)
    assert sum(p.numel() for p in model.parameters()) == F.params_total(shape)


@pytest.mark.parametrize("shape", SHAPES)
def test_nonembed_excludes_embeddings_and_head(shape):
    g = F.param_groups(shape)
    assert (
        F.params_nonembed(shape)
        == F.params_total(shape) - g["embedding"] - g["position"] - g["head"]
    )
    assert F.params_compute(shape) == F.params_nonembed(shape) + shape.vocab_size * shape.d_model


@pytest.mark.parametrize("shape", SHAPES)
def test_6n_attn_matches_torch_flop_counter(shape):
    """torch counts matmul and attention FLOPs of a real forward+backward step; 6N_attn is the
    same count up to the LayerNorm gains (not matmuls). The math SDPA backend is forced because
    torch's counter does not see the fused CPU attention kernel."""
    model = Transformer(shape)
    batch = 2
    x = torch.randint(0, shape.vocab_size, (batch, shape.context))
    counter = FlopCounterMode(display=False)
    with sdpa_kernel(SDPBackend.MATH), counter:
        _, loss = model(x, x)
        loss.backward()
    measured = counter.get_total_flops() / (batch * shape.context)
    predicted = F.flops_per_token(shape, "6N_attn")
    assert measured == predicted - 6 * F.param_groups(shape)["norm"]


def test_convention_ordering_and_values():
    s = F.Shape(2, 32, 2, 128, 256, 257, True)
    assert F.flops_per_token(s, "6N_nonembed") == 6 * F.params_nonembed(s)
    assert F.flops_per_token(s, "6N_total") == 6 * F.params_total(s)
    assert F.flops_per_token(s, "6N_attn") == 6 * F.params_compute(s) + 12 * 2 * 256 * 32
    # App. F counts the embedding lookup as a matmul and adds softmax: a little above 6N_attn
    ratio = F.flops_per_token(s, "hoffmann_appF") / F.flops_per_token(s, "6N_attn")
    assert 1.0 < ratio < 1.3
    with pytest.raises(ValueError, match="unknown FLOP convention"):
        F.flops_per_token(s, "7N")


@pytest.mark.parametrize(
    "target, conv, tps",
    list(itertools.product([1e8, 3.3e9, 1e11, 7.7e12], F.CONVENTIONS, [256, 4096])),
)
def test_budget_steps_budget_round_trip(target, conv, tps):
    s = F.Shape(2, 32, 2, 128, 256, 257, True)
    plan = F.plan_budget(s, target, conv, tps)
    step_flops = plan.flops_per_token * tps
    if plan.steps == 0:
        assert target < 0.5 * step_flops
        return
    assert abs(plan.flops - target) <= 0.5 * step_flops + 1e-6 * target
    assert plan.tokens == plan.steps * tps
    # the achieved budget plans back to the same number of steps
    assert F.plan_budget(s, plan.flops, conv, tps).steps == plan.steps
    assert F.flops_all_conventions(s, plan.tokens)[conv] == pytest.approx(plan.flops)
