"""Held-out evaluation: loss and bits per byte per domain, and verified task accuracy.

Loss is the mean cross-entropy (nats) over every target token of the held-out stream; bits
per byte divides the summed loss by ln 2 times the UTF-8 bytes those targets stand for
(``Tokenizer.token_bytes``): bpb = sum(nats) / (ln 2 * sum(bytes)), the tokenizer-independent
metric of Gao et al. 2020 ("The Pile", arXiv:2101.00027: results in bits per UTF-8 byte) and of
nanochat's ``evaluate_bpb``, so runs with different tokenizers compare. Task accuracy is exact
match of the final answer under greedy decoding from the problem prompt alone, checked by the
generator's own verifier on held-out problems that never appear in training.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from scaling.data.stream import TokenStream
from scaling.model.transformer import KVCache, Transformer
from scaling.tokenizers.base import Tokenizer


@torch.no_grad()
def stream_loss(
    model: Transformer,
    stream: TokenStream,
    token_bytes: np.ndarray,
    *,
    batch_size: int,
    max_tokens: int | None = None,
    device: str = "cpu",
) -> dict[str, float]:
    """{'loss': nats per token, 'bpb': bits per byte, 'tokens': targets scored}."""
    T = model.shape.context
    n_windows = stream.windows(T)
    if max_tokens is not None:
        n_windows = min(n_windows, max(1, max_tokens // T))
    if n_windows == 0:
        raise ValueError(f"held-out stream has {len(stream.tokens)} tokens, fewer than context+1")
    was_training = model.training
    model.eval()
    tb = torch.as_tensor(token_bytes, dtype=torch.float64)
    nats, nbytes, ntok = 0.0, 0.0, 0
    for start in range(0, n_windows, batch_size):
        b = min(batch_size, n_windows - start)
        lo = start * T
        x = torch.as_tensor(stream.tokens[lo : lo + b * T].astype(np.int64)).view(b, T)
        y = torch.as_tensor(stream.tokens[lo + 1 : lo + b * T + 1].astype(np.int64)).view(b, T)
        logits, _ = model(x.to(device))
        losses = F.cross_entropy(
            logits.float().view(-1, logits.size(-1)), y.to(device).view(-1), reduction="none"
        ).cpu()  # (b*T,)
        yv = y.view(-1)
        if stream.mask is not None:  # score only the marked targets (e.g. answer tokens)
            keep = torch.as_tensor(stream.mask[lo + 1 : lo + b * T + 1]).view(-1)
            losses, yv = losses[keep], yv[keep]
        nats += float(losses.double().sum())
        nbytes += float(tb[yv].sum())
        ntok += yv.numel()
    model.train(was_training)
    if ntok == 0:
        raise ValueError("held-out stream has no scored targets (score=answer with no answers?)")
    return {"loss": nats / ntok, "bpb": nats / (math.log(2) * nbytes), "tokens": ntok}


@torch.no_grad()
def greedy_complete(
    model: Transformer,
    prompts: list[np.ndarray],
    *,
    max_new_tokens: int,
    eos_id: int,
    stop_id: int | None = None,
    device: str = "cpu",
    batch_size: int = 64,
) -> list[list[int]]:
    """Greedy continuations of each prompt, with a KV cache, batched by prompt length.

    Generation of a sequence ends at ``eos_id``, or at ``stop_id`` (e.g. newline) once the
    answer line has begun (the caller trims), or at the context limit.
    """
    was_training = model.training
    model.eval()
    out: list[list[int]] = [[] for _ in prompts]
    by_len: dict[int, list[int]] = defaultdict(list)
    for i, p in enumerate(prompts):
        by_len[len(p)].append(i)
    ctx = model.shape.context
    for length, idxs in sorted(by_len.items()):
        steps = min(max_new_tokens, ctx - length)
        if steps <= 0:
            continue
        for s in range(0, len(idxs), batch_size):
            group = idxs[s : s + batch_size]
            x = torch.as_tensor(
                np.stack([prompts[i] for i in group]).astype(np.int64), device=device
            )
            cache = KVCache(model.shape.n_layer)
            logits, _ = model(x, cache=cache)
            done = torch.zeros(len(group), dtype=torch.bool, device=device)
            for _ in range(steps):
                nxt = logits[:, -1, :].argmax(dim=-1)
                for j, tok_id in enumerate(nxt.tolist()):
                    if not done[j]:
                        out[group[j]].append(tok_id)
                done |= nxt == eos_id
                if done.all() or cache.length >= ctx:
                    break
                logits, _ = model(nxt.view(-1, 1), cache=cache)
    model.train(was_training)
    return out


def task_accuracy(
    model: Transformer,
    tok: Tokenizer,
    generator: Any,
    examples: list[Any],
    *,
    max_new_tokens: int,
    device: str = "cpu",
) -> dict[str, Any]:
    """Exact-match accuracy (generator.verify) of greedy completions, overall and by difficulty."""
    if not examples:
        return {"accuracy": float("nan"), "n": 0}
    prompts = [tok.encode(ex.prompt) for ex in examples]
    completions = greedy_complete(
        model, prompts, max_new_tokens=max_new_tokens, eos_id=tok.eos_id, device=device
    )
    correct_by: dict[str, list[bool]] = defaultdict(list)
    by_gen: dict[str, list[bool]] = defaultdict(list)
    correct = []
    for ex, ids in zip(examples, completions, strict=True):
        ok = bool(generator.verify(ex, tok.decode(ids)))
        correct.append(ok)
        correct_by[str(ex.meta.get("difficulty", "all"))].append(ok)
        by_gen[str(ex.meta.get("generator", "all"))].append(ok)
    out = {
        "accuracy": float(np.mean(correct)),
        "n": len(correct),
        "by_difficulty": {k: float(np.mean(v)) for k, v in sorted(correct_by.items())},
        "correct": correct,
    }
    if len(by_gen) > 1:  # a mixture (generator=mix): each kind's accuracy and its n
        out["by_generator"] = {
            k: {"accuracy": float(np.mean(v)), "n": len(v)} for k, v in sorted(by_gen.items())
        }
    return out
