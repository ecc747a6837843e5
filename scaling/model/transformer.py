"""One small decoder-only transformer (GPT-2 shape, pre-norm), knowing nothing of data.

Pre-norm blocks (LayerNorm without bias), causal self-attention through
``torch.nn.functional.scaled_dot_product_attention``, GELU MLP, learned absolute positions,
no biases, optional tied input/output embeddings. Initialisation follows GPT-2 / nanoGPT:
N(0, 0.02), residual projections scaled by 1/sqrt(2 n_layer) (Radford et al. 2019, §2.3).
Parameter counts match ``scaling.core.flops.param_groups`` exactly.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from scaling.core.flops import Shape


class KVCache:
    """Keys and values of earlier positions, per layer, for incremental decoding."""

    def __init__(self, n_layer: int) -> None:
        self.k: list[torch.Tensor | None] = [None] * n_layer
        self.v: list[torch.Tensor | None] = [None] * n_layer

    @property
    def length(self) -> int:
        return 0 if self.k[0] is None else self.k[0].shape[2]


class CausalSelfAttention(nn.Module):
    def __init__(self, d_model: int, n_head: int) -> None:
        super().__init__()
        self.n_head = n_head
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=False)
        self.proj = nn.Linear(d_model, d_model, bias=False)

    def forward(
        self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0
    ) -> torch.Tensor:
        B, T, C = x.shape  # batch, sequence length, d_model
        q, k, v = self.qkv(x).split(C, dim=2)  # 3 x (B, T, C)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        if cache is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, nh, T, hs)
        else:
            past = cache.k[layer] is not None
            if past:
                k = torch.cat([cache.k[layer], k], dim=2)  # (B, nh, S, hs), S = past + T
                v = torch.cat([cache.v[layer], v], dim=2)  # (B, nh, S, hs)
            cache.k[layer], cache.v[layer] = k, v
            if T == 1:  # one new query attends to every cached position
                y = F.scaled_dot_product_attention(q, k, v)
            elif not past:
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            else:  # several new queries after a prefix: explicit bottom-right causal mask
                S = k.shape[2]
                mask = torch.ones(T, S, dtype=torch.bool, device=x.device).tril(S - T)
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # heads side by side: (B, T, C)
        return self.proj(y)  # (B, T, C)


class MLP(nn.Module):
    def __init__(self, d_model: int, d_ff: int) -> None:
        super().__init__()
        self.fc = nn.Linear(d_model, d_ff, bias=False)
        self.proj = nn.Linear(d_ff, d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(F.gelu(self.fc(x)))  # (B, T, C) -> (B, T, d_ff) -> (B, T, C)


class Block(nn.Module):
    def __init__(self, d_model: int, n_head: int, d_ff: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(d_model, bias=False)
        self.attn = CausalSelfAttention(d_model, n_head)
        self.ln_2 = nn.LayerNorm(d_model, bias=False)
        self.mlp = MLP(d_model, d_ff)

    def forward(
        self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0
    ) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), cache, layer)  # (B, T, C)
        return x + self.mlp(self.ln_2(x))  # (B, T, C)


class Transformer(nn.Module):
    """Decoder-only language model over ``shape.vocab_size`` tokens."""

    def __init__(self, shape: Shape) -> None:
        super().__init__()
        self.shape = shape
        self.wte = nn.Embedding(shape.vocab_size, shape.d_model)
        self.wpe = nn.Embedding(shape.context, shape.d_model)
        self.blocks = nn.ModuleList(
            Block(shape.d_model, shape.n_head, shape.d_ff) for _ in range(shape.n_layer)
        )
        self.ln_f = nn.LayerNorm(shape.d_model, bias=False)
        self.head = nn.Linear(shape.d_model, shape.vocab_size, bias=False)
        if shape.tie_embeddings:
            self.head.weight = self.wte.weight
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * shape.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear | nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def param_groups(self) -> dict[str, int]:
        """Counted from the live module, by the same groups as ``core.flops.param_groups``."""
        groups = dict.fromkeys(("embedding", "position", "attention", "mlp", "norm", "head"), 0)
        for name, p in self.named_parameters():  # a tied head is yielded once, as wte
            if name.startswith("wte."):
                groups["embedding"] += p.numel()
            elif name.startswith("wpe."):
                groups["position"] += p.numel()
            elif ".attn." in name:
                groups["attention"] += p.numel()
            elif ".mlp." in name:
                groups["mlp"] += p.numel()
            elif "ln_" in name:
                groups["norm"] += p.numel()
            elif name.startswith("head."):
                groups["head"] += p.numel()
            else:  # pragma: no cover - a new parameter must be assigned a group
                raise RuntimeError(f"parameter {name} has no group")
        return groups

    def forward(
        self,
        idx: torch.Tensor,
        targets: torch.Tensor | None = None,
        loss_mask: torch.Tensor | None = None,
        cache: KVCache | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits, and the mean cross-entropy over positions where ``loss_mask`` is true."""
        T = idx.shape[1]  # idx: (B, T) token ids
        start = 0 if cache is None else cache.length
        if start + T > self.shape.context:
            raise ValueError(f"sequence of {start + T} tokens exceeds context {self.shape.context}")
        pos = torch.arange(start, start + T, device=idx.device)  # (T,)
        x = self.wte(idx) + self.wpe(pos)  # (B, T, C) + (T, C)
        for i, block in enumerate(self.blocks):
            x = block(x, cache, i)  # (B, T, C)
        logits = self.head(self.ln_f(x))  # (B, T, vocab)
        if targets is None:
            return logits, None
        flat = logits.view(-1, logits.size(-1)).float()  # (B*T, vocab), fp32 loss under autocast
        if loss_mask is None:
            return logits, F.cross_entropy(flat, targets.reshape(-1))
        losses = F.cross_entropy(flat, targets.reshape(-1), reduction="none")
        m = loss_mask.reshape(-1).to(losses.dtype)
        return logits, (losses * m).sum() / m.sum().clamp_min(1.0)

    def optimizer_groups(self, weight_decay: float) -> list[dict]:
        """AdamW groups: decay on matrices (embeddings too), none on norm gains (nanoGPT)."""
        decay, no_decay = [], []
        for _, p in self.named_parameters():
            (decay if p.dim() >= 2 else no_decay).append(p)
        return [
            {"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]
