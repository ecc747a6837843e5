"""FLOP and parameter accounting against the real module and against torch's FLOP counter."""

import itertools

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from scaling.core import flops
from scaling.model.transformer import Transformer

SHAPES = [
    flops.Shape(1, 8, 1, 32, 16, 257, True),
    flops.Shape(2, 32, 2, 128, 64, 257, True),
    flops.Shape(3, 48, 3, 96, 32, 300, False),
    flops.Shape(2, 64, 4, 256, 128, 1024, False),
]


@pytest.mark.parametrize("shape", SHAPES)
def test_param_groups_match_module(shape):
    model = Transformer(shape)
    assert model.param_groups() == flops.param_groups(shape)
    assert sum(p.numel() for p in model.parameters()) == flops.params_total(shape)


@pytest.mark.parametrize("shape", SHAPES)
def test_nonembed_excludes_embeddings_and_head(shape):
    g = flops.param_groups(shape)
    assert (
        flops.params_nonembed(shape)
        == flops.params_total(shape) - g["embedding"] - g["position"] - g["head"]
    )
    head = shape.vocab_size * shape.d_model
    assert flops.params_compute(shape) == flops.params_nonembed(shape) + head


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
    predicted = flops.flops_per_token(shape, "6N_attn")
    assert measured == predicted - 6 * flops.param_groups(shape)["norm"]


def test_convention_ordering_and_values():
    s = flops.Shape(2, 32, 2, 128, 256, 257, True)
    assert flops.flops_per_token(s, "6N_nonembed") == 6 * flops.params_nonembed(s)
    assert flops.flops_per_token(s, "6N_total") == 6 * flops.params_total(s)
    assert flops.flops_per_token(s, "6N_attn") == 6 * flops.params_compute(s) + 12 * 2 * 256 * 32
    # App. F counts the embedding lookup as a matmul and adds softmax: a little above 6N_attn
    ratio = flops.flops_per_token(s, "hoffmann_appF") / flops.flops_per_token(s, "6N_attn")
    assert 1.0 < ratio < 1.3
    with pytest.raises(ValueError, match="unknown FLOP convention"):
        flops.flops_per_token(s, "7N")


@pytest.mark.parametrize(
    "target, conv, tps",
    list(itertools.product([1e8, 3.3e9, 1e11, 7.7e12], flops.CONVENTIONS, [256, 4096])),
)
def test_budget_steps_budget_round_trip(target, conv, tps):
    s = flops.Shape(2, 32, 2, 128, 256, 257, True)
    plan = flops.plan_budget(s, target, conv, tps)
    step_flops = plan.flops_per_token * tps
    if plan.steps == 0:
        assert target < 0.5 * step_flops
        return
    assert abs(plan.flops - target) <= 0.5 * step_flops + 1e-6 * target
    assert plan.tokens == plan.steps * tps
    # the achieved budget plans back to the same number of steps
    assert flops.plan_budget(s, plan.flops, conv, tps).steps == plan.steps
    assert flops.flops_all_conventions(s, plan.tokens)[conv] == pytest.approx(plan.flops)
