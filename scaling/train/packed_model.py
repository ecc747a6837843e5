"""K transformers of one ``Shape`` as one module: weights in a flat (K, P) buffer, batched matmuls
over the model axis, per-run losses (the design and its equality guarantee: ``train.packed``)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from scaling.core.flops import Shape
from scaling.model.transformer import Transformer


def build_runs(shape: Shape, seeds: Sequence[int]) -> list[Transformer]:
    """One plain ``Transformer`` per seed, each built under ``torch.manual_seed(seed)`` exactly
    as the solo trainer builds its model (the caller's global RNG state is left as it was)."""
    models = []
    with torch.random.fork_rng(devices=[]):
        for seed in seeds:
            torch.manual_seed(seed)
            models.append(Transformer(shape))
    return models


def _layer_norm(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Bias-free LayerNorm with a per-run gain: x (K, N, C), w (K, C) -> (K, N, C).

    Run by run: ``F.layer_norm(x, C) * w`` in one op has the same forward, but its gain
    gradient is summed in another order than ``F.layer_norm``'s own backward (~1e-10 apart at
    step 0, enough to part trajectories at 1e-7 within 40 steps); the per-run call is exactly
    the solo op, and measured no slower (xs and m, K=8).
    """
    C = x.shape[-1:]  # unbind, not x[r]: one backward op, where K selects would each fill (K, N, C)
    return torch.stack(
        [F.layer_norm(a, C, b) for a, b in zip(x.unbind(0), w.unbind(0), strict=True)]
    )


def _linear(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Per-run ``x @ w.T``: x (K, N, in), w (K, out, in) -> (K, N, out)."""
    return torch.bmm(x, w.transpose(1, 2))


class PackedModel(nn.Module):
    """K ``Transformer``s of one shape, parameters stacked on a leading model axis.

    ``PackedModel(shape, seeds)`` builds run k as ``Transformer(shape)`` under
    ``torch.manual_seed(seeds[k])``; ``PackedModel.from_models`` stacks given models.
    ``forward(idx, targets, loss_mask)`` takes (K, B, T) tensors and returns the per-run losses
    (K,), or logits (K, B, T, vocab) without targets. ``unstack(k)`` is run k's ``state_dict``
    for a plain ``Transformer``, ``to_transformer(k)`` that model. ``W`` (K, P) holds the
    weights, run k in row k; ``G`` (K, P) the gradients; ``params`` the named (K, *shape) views.
    """

    def __init__(self, shape: Shape, seeds: Sequence[int]) -> None:
        super().__init__()
        self._stack(shape, build_runs(shape, seeds))

    @classmethod
    def from_models(cls, models: Sequence[Transformer]) -> PackedModel:
        shapes = {m.shape for m in models}
        if len(shapes) != 1:
            raise ValueError(f"a pack holds runs of one shape, got {len(shapes)} shapes")
        self = cls.__new__(cls)
        nn.Module.__init__(self)
        self._stack(models[0].shape, list(models))
        return self

    def _stack(self, shape: Shape, models: list[Transformer]) -> None:
        if not models:
            raise ValueError("a pack needs at least one run")
        self.shape = shape
        self.K = len(models)
        first = models[0]
        decayed = {id(p) for p in first.optimizer_groups(0.0)[0]["params"]}
        named = list(first.named_parameters())  # a tied head is yielded once, as wte.weight
        # decayed parameters first, so the decoupled decay is one op on W[:, :n_decay]
        order = [n for n, p in named if id(p) in decayed] + [
            n for n, p in named if id(p) not in decayed
        ]
        self.names: list[str] = order
        self.torch_order = [n for n, _ in named]  # the order of Transformer.parameters()
        self.shapes = {n: tuple(first.get_parameter(n).shape) for n in order}
        sizes = [math.prod(self.shapes[n]) for n in order]
        decay_names = {n for n, p in named if id(p) in decayed}
        self.n_decay = sum(s for n, s in zip(order, sizes, strict=True) if n in decay_names)
        P = sum(sizes)
        # run k's parameters are row k of W; its gradients row k of G
        self.register_buffer("W", torch.empty(self.K, P), persistent=False)
        self.register_buffer("G", torch.zeros(self.K, P), persistent=False)
        self.slices: dict[str, slice] = {}
        off = 0
        for n, s in zip(order, sizes, strict=True):
            self.slices[n] = slice(off, off + s)
            off += s
        with torch.no_grad():
            for k, m in enumerate(models):
                for n in order:
                    w = m.get_parameter(n).detach().reshape(-1)
                    self.W[k, self.slices[n]] = w.to(self.W.device)
        self._bind()
        # state_dict key of a plain Transformer -> the parameter name it holds (tied head)
        by_id = {id(p): n for n, p in named}
        self.state_keys = {key: by_id[id(t)] for key, t in first.state_dict(keep_vars=True).items()}

    def _bind(self) -> None:
        """(Re)create each named parameter as a (K, *shape) view of W, its grad a view of G."""
        self.params: dict[str, nn.Parameter] = {}
        for n in self.names:
            sl, shp = self.slices[n], self.shapes[n]
            p = nn.Parameter(self.W[:, sl].view(self.K, *shp))
            p.grad = self.G[:, sl].view(self.K, *shp)
            self.params[n] = p
        self._plist = nn.ParameterList(self.params[n] for n in self.names)

    def _apply(self, fn, recurse=True):  # keep the views bound after .to(device)
        super()._apply(fn, recurse)
        self._bind()
        return self

    def zero_grad(self, set_to_none: bool = False) -> None:
        """Zero the flat gradient buffer; the per-parameter grads stay views of it."""
        if set_to_none:
            raise ValueError("a PackedModel's grads are views of one buffer; they are zeroed")
        self.G.zero_()
        for n in self.names:  # a grad replaced by autograd (not accumulated) is rebound
            p, sl = self.params[n], self.slices[n]
            if p.grad is None or p.grad.data_ptr() != self.G[:, sl].data_ptr():
                p.grad = self.G[:, sl].view(self.K, *self.shapes[n])

    # ---- per-run views --------------------------------------------------------------------
    def unstack(self, k: int) -> dict[str, torch.Tensor]:
        """Run k's weights as a plain ``Transformer`` state_dict (tied head included)."""
        own = {
            n: self.W[k, self.slices[n]].detach().clone().view(self.shapes[n]) for n in self.names
        }
        return {key: own[name] for key, name in self.state_keys.items()}

    def to_transformer(self, k: int) -> Transformer:
        """Run k as a plain ``Transformer`` (a copy: training the pack does not change it)."""
        with torch.random.fork_rng(devices=[]):  # its throwaway init leaves the RNG alone
            model = Transformer(self.shape).to(self.W.device)
        model.load_state_dict(self.unstack(k))
        return model

    # ---- forward --------------------------------------------------------------------------
    def forward(
        self,
        idx: torch.Tensor,
        targets: torch.Tensor | None = None,
        loss_mask: torch.Tensor | Sequence[torch.Tensor | None] | None = None,
        runs: Sequence[bool] | None = None,
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Without ``targets``: logits (K, B, T, vocab). With them: (None, losses (K,)), run
        k's loss being exactly ``Transformer.forward``'s mean cross-entropy for run k alone over
        the positions where its mask is true; the logits are then never materialised as one
        (K, B, T, vocab) tensor. ``loss_mask``: (K, B, T), or one (B, T) mask or None per run.
        ``runs``: which runs' losses to compute (default all); the others' losses are NaN and
        carry no gradient (their rows of the trunk still run, their gradients are zero)."""
        K, B, T = idx.shape  # runs, batch, sequence length
        if runs is not None and len(runs) != K:
            raise ValueError(f"{len(runs)} run flags for a pack of {K}")
        s, p = self.shape, self.params
        C, V, nh = s.d_model, s.vocab_size, s.n_head
        if K != self.K:
            raise ValueError(f"inputs for {K} runs given to a pack of {self.K}")
        if idx.shape[2] > s.context:
            raise ValueError(f"sequence of {T} tokens exceeds context {s.context}")
        offset = torch.arange(K, device=idx.device).view(K, 1, 1) * V  # run k's rows of wte
        wte = p["wte.weight"]  # (K, V, C)
        x = F.embedding(idx + offset, wte.reshape(K * V, C))  # (K, B, T, C)
        x = (x + p["wpe.weight"][:, None, :T]).view(K, B * T, C)  # + (K, 1, T, C)
        for i in range(s.n_layer):
            b = f"blocks.{i}."
            h = _layer_norm(x, p[b + "ln_1.weight"])  # (K, B*T, C)
            qkv = _linear(h, p[b + "attn.qkv.weight"]).view(K * B, T, 3 * C)  # runs x batch
            q, k, v = qkv.split(C, dim=2)  # 3 x (K*B, T, C)
            q = q.view(K * B, T, nh, C // nh).transpose(1, 2)  # (K*B, nh, T, hs)
            k = k.view(K * B, T, nh, C // nh).transpose(1, 2)  # (K*B, nh, T, hs)
            v = v.view(K * B, T, nh, C // nh).transpose(1, 2)  # (K*B, nh, T, hs)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (K*B, nh, T, hs)
            y = y.transpose(1, 2).reshape(K, B * T, C)  # heads side by side
            x = x + _linear(y, p[b + "attn.proj.weight"])  # (K, B*T, C)
            h = _layer_norm(x, p[b + "ln_2.weight"])
            h = F.gelu(_linear(h, p[b + "mlp.fc.weight"]))  # (K, B*T, d_ff)
            x = x + _linear(h, p[b + "mlp.proj.weight"])  # (K, B*T, C)
        x = _layer_norm(x, p["ln_f.weight"])
        head = wte if s.tie_embeddings else p["head.weight"]  # (K, V, C)
        if targets is None:
            return _linear(x, head).view(K, B, T, V), None
        return None, _run_losses(x, head, targets.view(K, B * T), loss_mask, runs)

    def take(self, rows: Sequence[int]) -> None:
        """Keep only these runs (rows), in this order: a pack sheds runs that have finished."""
        rows = list(rows)
        if not rows:
            raise ValueError("a pack needs at least one run")
        self.W = self.W[rows].clone()
        self.G = torch.zeros_like(self.W)
        self.K = len(rows)
        self._bind()


def _run_losses(
    x: torch.Tensor,
    head: torch.Tensor,
    y: torch.Tensor,
    loss_mask: torch.Tensor | Sequence[torch.Tensor | None] | None,
    runs: Sequence[bool] | None,
) -> torch.Tensor:
    """Per-run mean cross-entropy (K,) of final hidden states x (K, B*T, C) under head (K, V, C)
    against targets y (K, B*T); NaN for runs not asked for."""
    K = x.shape[0]
    # Head and loss run by run: each (B*T, vocab) block stays cache-sized (one (K, B*T, V)
    # tensor does not, and its element-wise softmax, fill and backward are then memory
    # bound), and the ops are exactly Transformer.forward's, so the loss is too.
    if loss_mask is None or isinstance(loss_mask, torch.Tensor):
        masks = [None if loss_mask is None else loss_mask[r] for r in range(K)]
    else:
        masks = list(loss_mask)
    nan = torch.full((), float("nan"), device=x.device)
    losses = []
    for r, (xr, hr) in enumerate(zip(x.unbind(0), head.unbind(0), strict=True)):
        if runs is not None and not runs[r]:
            losses.append(nan)
            continue
        flat = F.linear(xr, hr).float()  # (B*T, vocab), Transformer.forward's ops
        if masks[r] is None:
            losses.append(F.cross_entropy(flat, y[r]))
            continue
        per = F.cross_entropy(flat, y[r], reduction="none")  # (B*T,)
        mr = masks[r].reshape(-1).to(per.dtype)
        losses.append((per * mr).sum() / mr.sum().clamp_min(1.0))
    return torch.stack(losses)
