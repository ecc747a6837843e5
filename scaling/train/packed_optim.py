"""AdamW for a ``PackedModel``: per-run learning rates, step counts, active mask and gradient
clipping, with ``torch.optim.AdamW``'s arithmetic in its order (see ``train.packed``)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from scaling.core.config import OptimConfig
from scaling.model.transformer import Transformer
from scaling.train.packed_model import PackedModel


class PackedAdamW:
    """AdamW for a ``PackedModel``: ``torch.optim.AdamW`` semantics, one run per row.

    ``step(lr, active)`` takes run k's learning rate ``lr[k]`` for this step and whether run k
    steps at all; an inactive run's weights, moments and step count are left exactly as they
    were. Bias correction uses each run's own step count (``steps``). Decoupled weight decay
    ``p *= 1 - lr * weight_decay`` applies to the parameters ``Transformer.optimizer_groups``
    decays (matrices and embeddings), not to the norm gains. Per-element arithmetic is that of
    ``torch.optim.AdamW``'s foreach path, in the same float32 order.
    """

    def __init__(
        self,
        model: PackedModel,
        betas: tuple[float, float] = (0.9, 0.95),
        eps: float = 1e-8,
        weight_decay: float = 0.1,
    ) -> None:
        self.model = model
        self.beta1, self.beta2 = float(betas[0]), float(betas[1])
        self.eps, self.weight_decay = float(eps), float(weight_decay)
        self.exp_avg = torch.zeros_like(model.W)  # (K, P)
        self.exp_avg_sq = torch.zeros_like(model.W)  # (K, P)
        self.steps = [0] * model.K

    @classmethod
    def from_config(cls, model: PackedModel, optim: OptimConfig) -> PackedAdamW:
        return cls(model, (optim.beta1, optim.beta2), optim.eps, optim.weight_decay)

    def _col(self, values: Sequence[float]) -> torch.Tensor:
        """Per-run float64 values as a float32 (K, 1) column, as torch casts a Python scalar."""
        return torch.tensor(values, dtype=torch.float64).to(self.model.W).view(-1, 1)

    @torch.no_grad()
    def clip_grad_norm_(
        self, max_norm: float, active: Sequence[bool] | None = None
    ) -> torch.Tensor:
        """Per-run global gradient norm (K,), and each run's gradient scaled by
        ``min(1, max_norm / (norm + 1e-6))`` as ``torch.nn.utils.clip_grad_norm_`` does;
        ``max_norm <= 0`` only measures. Inactive runs' norms are NaN."""
        m = self.model
        G = m.G
        # per-tensor norms, then the norm of those in Transformer.parameters() order, as
        # clip_grad_norm_(foreach=True) computes them (a row norm of a slice is bitwise the
        # norm of the contiguous tensor)
        per = [torch.linalg.vector_norm(G[:, m.slices[n]], dim=1) for n in m.torch_order]
        norms = torch.linalg.vector_norm(torch.stack(per, dim=1), dim=1)  # (K, n_params) -> (K,)
        if max_norm > 0:
            coef = torch.clamp(float(max_norm) / (norms + 1e-6), max=1.0)  # (K,)
            G.mul_(coef.view(-1, 1))
        if active is not None and not all(active):
            norms = torch.where(torch.tensor(list(active)), norms, float("nan"))
        return norms

    @torch.no_grad()
    def step(self, lr: Sequence[float], active: Sequence[bool] | None = None) -> None:
        """One AdamW step of every active run, run k at learning rate ``lr[k]``."""
        K = self.model.K
        active = [True] * K if active is None else [bool(a) for a in active]
        if len(lr) != K or len(active) != K:
            raise ValueError(f"need {K} learning rates and active flags")
        W, G, M, S = self.model.W, self.model.G, self.exp_avg, self.exp_avg_sq
        b1, b2 = self.beta1, self.beta2
        for k in range(K):
            self.steps[k] += active[k]
        lrs = [float(lr[k]) if active[k] else 0.0 for k in range(K)]
        # Python-float arithmetic exactly as torch.optim.adam._multi_tensor_adam (non-capturable)
        decay = [1 - x * self.weight_decay for x in lrs]
        bc1 = [1 - b1 ** float(max(t, 1)) for t in self.steps]
        bc2_sqrt = [(1 - b2 ** float(max(t, 1))) ** 0.5 for t in self.steps]
        step_size = [(x / c) * -1 for x, c in zip(lrs, bc1, strict=True)]
        if all(active):
            w1, beta2 = 1 - b1, b2
        else:  # an inactive run: zero gradient, lerp weight 0, moment factor 1, step 0
            off = torch.tensor([not a for a in active], device=G.device).view(-1, 1)
            G.masked_fill_(off, 0.0)  # a fill, not a product: NaN * 0 would stay NaN
            w1 = self._col([(1 - b1) if a else 0.0 for a in active])
            beta2 = self._col([b2 if a else 1.0 for a in active])
        if self.weight_decay != 0:
            W[:, : self.model.n_decay].mul_(self._col(decay))
        M.lerp_(G, w1)
        S.mul_(beta2).addcmul_(G, G, value=1 - b2)
        denom = S.sqrt().div_(self._col(bc2_sqrt)).add_(self.eps)
        W.add_(M.mul(self._col(step_size)).div_(denom))  # addcdiv's (value * m) / denom

    def zero_grad(self) -> None:
        self.model.zero_grad()

    def take(self, rows: Sequence[int]) -> None:
        """Keep only these runs' state; call with the same rows as ``PackedModel.take``."""
        rows = list(rows)
        self.exp_avg, self.exp_avg_sq = self.exp_avg[rows].clone(), self.exp_avg_sq[rows].clone()
        self.steps = [self.steps[r] for r in rows]

    def state_dict(self) -> dict:
        return {
            "steps": list(self.steps),
            "exp_avg": self.exp_avg.clone(),
            "exp_avg_sq": self.exp_avg_sq.clone(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.steps = [int(t) for t in state["steps"]]
        self.exp_avg.copy_(state["exp_avg"])
        self.exp_avg_sq.copy_(state["exp_avg_sq"])

    def _named_groups(self) -> list[list[str]]:
        """Parameter names of each ``Transformer.optimizer_groups`` group, in torch's order."""
        with torch.random.fork_rng(devices=[]):
            template = Transformer(self.model.shape)
        name_of = {id(p): n for n, p in template.named_parameters()}
        return [
            [name_of[id(p)] for p in g["params"]]
            for g in template.optimizer_groups(self.weight_decay)
        ]

    @torch.no_grad()
    def load_row(self, k: int, state_dict: dict) -> None:
        """Set run k's moments and step count from a ``torch.optim.AdamW`` state_dict of a solo
        trainer (the inverse of ``unstack``): a checkpointed run continues inside a pack."""
        m = self.model
        names = [n for group in self._named_groups() for n in group]
        state = state_dict["state"]
        steps = set()
        for i, n in enumerate(names):
            sl = m.slices[n]
            self.exp_avg[k, sl] = state[i]["exp_avg"].reshape(-1).to(self.exp_avg)
            self.exp_avg_sq[k, sl] = state[i]["exp_avg_sq"].reshape(-1).to(self.exp_avg_sq)
            steps.add(int(float(state[i]["step"])))
        if len(steps) != 1:
            raise ValueError(f"optimizer state with step counts {sorted(steps)} for one run")
        self.steps[k] = steps.pop()

    def unstack(self, k: int, lr: float) -> dict:
        """Run k's optimizer state as a ``torch.optim.AdamW`` state_dict for the groups of
        ``Transformer.optimizer_groups`` (``lr``: the group learning rate to record), so a run
        can leave the pack and continue alone."""
        m = self.model
        with torch.random.fork_rng(devices=[]):
            template = Transformer(m.shape)
        groups = template.optimizer_groups(self.weight_decay)
        name_of = {id(p): n for n, p in template.named_parameters()}
        opt = torch.optim.AdamW(
            groups, lr=lr, betas=(self.beta1, self.beta2), eps=self.eps, foreach=True
        )
        sd = opt.state_dict()
        state, i = {}, 0
        for g in groups:
            for p in g["params"]:
                n = name_of[id(p)]
                sl, shp = m.slices[n], m.shapes[n]
                state[i] = {
                    "step": torch.tensor(float(self.steps[k])),
                    "exp_avg": self.exp_avg[k, sl].clone().view(shp),
                    "exp_avg_sq": self.exp_avg_sq[k, sl].clone().view(shp),
                }
                i += 1
        sd["state"] = state
        return sd
