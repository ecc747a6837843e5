"""The transformer: causal, KV-cache decoding equals a full forward pass, tying works."""

import torch

from scaling.core.flops import Shape
from scaling.model.transformer import KVCache, Transformer


def _model(tie=True, seed=0):
    torch.manual_seed(seed)
    return Transformer(Shape(2, 32, 4, 64, 24, 50, tie)).eval()


def test_causal_future_tokens_do_not_change_past_logits():
    m = _model()
    x = torch.randint(0, 50, (2, 24))
    y = x.clone()
    y[:, 12:] = torch.randint(0, 50, (2, 12))
    with torch.no_grad():
        a, _ = m(x)
        b, _ = m(y)
    assert torch.allclose(a[:, :12], b[:, :12], atol=1e-5)
    assert not torch.allclose(a[:, 12:], b[:, 12:], atol=1e-3)


def test_kv_cache_matches_full_forward():
    m = _model()
    x = torch.randint(0, 50, (3, 20))
    with torch.no_grad():
        full, _ = m(x)
        cache = KVCache(2)
        first, _ = m(x[:, :7], cache=cache)
        steps = [first]
        for t in range(7, 15):
            out, _ = m(x[:, t : t + 1], cache=cache)
            steps.append(out)
        chunk, _ = m(x[:, 15:20], cache=cache)  # several new tokens after a prefix
        steps.append(chunk)
    assert torch.allclose(torch.cat(steps, dim=1), full, atol=1e-5)


def test_tied_and_untied_embeddings():
    tied, untied = _model(True), _model(False)
    assert tied.head.weight is tied.wte.weight
    assert untied.head.weight is not untied.wte.weight
    assert tied.param_groups()["head"] == 0
    assert untied.param_groups()["head"] == 50 * 32


def test_loss_mask_selects_positions():
    m = _model()
    x = torch.randint(0, 50, (2, 24))
    mask = torch.zeros(2, 24, dtype=torch.bool)
    mask[:, 5] = True
    with torch.no_grad():
        logits, masked = m(x, x, mask)
        per_token = torch.nn.functional.cross_entropy(
            logits[:, 5].reshape(-1, 50), x[:, 5].reshape(-1)
        )
    assert torch.allclose(masked, per_token, atol=1e-6)
