"""``scaling sample RUN_DIR --prompt TEXT``: continue a prompt with a finished run's model.

The model and tokenizer come from the run directory (``runs.weights.load_run_model``: the
``model.safetensors`` and ``model.json`` a finished run keeps). Decoding is greedy at
``--temperature 0`` and samples otherwise (``torch.multinomial`` with a generator seeded by
``--seed``, over the ``--top-k`` most likely tokens when it is above 0); the model sees at most
its context length of the latest tokens, and generation stops at the end-of-document token.
torch is imported only when the command runs, so the analysis CLI starts without it.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from scaling.core.errors import UserError


def add(sub: argparse._SubParsersAction) -> None:
    """Register the ``sample`` subcommand."""
    p = sub.add_parser("sample", help="continue a prompt with a finished run's model")
    p.add_argument("run_dir", help="a finished run's directory (holds model.safetensors)")
    p.add_argument("--prompt", required=True, help="text to continue")
    p.add_argument("--max-new-tokens", type=int, default=64, help="tokens to generate")
    p.add_argument("--temperature", type=float, default=0.0, help="0: greedy (default)")
    p.add_argument("--top-k", type=int, default=0, help="sample among the k likeliest; 0: all")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampling generator")
    p.set_defaults(func=cmd_sample)


def check_args(args: argparse.Namespace) -> None:
    """Reject bad options with one line each, before torch is imported."""
    if not args.prompt:
        raise UserError('--prompt is empty: give text to continue, e.g. --prompt "The"')
    if not math.isfinite(args.temperature) or args.temperature < 0:
        raise UserError(
            f"--temperature={args.temperature}: must be a number >= 0 (0 decodes greedily)"
        )
    if args.max_new_tokens < 0:
        raise UserError(f"--max-new-tokens={args.max_new_tokens}: must be >= 0, e.g. 64")
    if args.top_k < 0:
        raise UserError(f"--top-k={args.top_k}: must be >= 0 (0 samples from every token)")
    if args.seed < 0:
        raise UserError(f"--seed={args.seed}: must be >= 0")
    if not Path(args.run_dir).is_dir():
        raise UserError(
            f"{args.run_dir}: not a directory; pass a run directory such as "
            "runs/quickstart/<run_id>"
        )


def next_token(logits: Any, temperature: float, top_k: int, generator: Any) -> int:
    """The next id from one position's logits (vocab,): argmax at temperature 0, else a draw
    from the softmax of logits / temperature over the ``top_k`` likeliest ids (0: all)."""
    import torch

    if temperature == 0:
        return int(logits.argmax())
    scaled = logits.float() / temperature
    if 0 < top_k < scaled.numel():
        cutoff = torch.topk(scaled, top_k).values[-1]
        scaled = scaled.masked_fill(scaled < cutoff, float("-inf"))
    probs = torch.softmax(scaled, dim=-1)
    return int(torch.multinomial(probs, 1, generator=generator))


def generate(
    model: Any,
    ids: list[int],
    *,
    max_new_tokens: int,
    temperature: float = 0.0,
    top_k: int = 0,
    seed: int = 0,
    eos_id: int | None = None,
) -> list[int]:
    """Up to ``max_new_tokens`` ids continuing ``ids``; each step the model sees the last
    ``model.shape.context`` tokens. Stops early at ``eos_id`` (not returned)."""
    import torch

    context = model.shape.context
    generator = torch.Generator().manual_seed(seed)
    tokens, out = list(ids), []
    with torch.no_grad():
        for _ in range(max_new_tokens):
            x = torch.tensor([tokens[-context:]], dtype=torch.long)
            logits, _ = model(x)
            nxt = next_token(logits[0, -1], temperature, top_k, generator)
            if nxt == eos_id:
                break
            tokens.append(nxt)
            out.append(nxt)
    return out


def cmd_sample(args: argparse.Namespace) -> int:
    """Print the prompt followed by the model's continuation."""
    check_args(args)
    from scaling.runs.weights import load_run_model  # imports torch

    model, tok = load_run_model(Path(args.run_dir))
    ids = [int(i) for i in tok.encode(args.prompt)]
    if not ids:
        raise UserError(f"--prompt {args.prompt!r} encodes to no tokens; give other text")
    new = generate(
        model,
        ids,
        max_new_tokens=args.max_new_tokens,
        temperature=args.temperature,
        top_k=args.top_k,
        seed=args.seed,
        eos_id=tok.eos_id,
    )
    print(args.prompt + tok.decode(new))
    return 0
