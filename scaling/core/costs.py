"""Cost model: what a dollar buys as compute and as expert-corrected data. No torch.

Compute: dollars per FLOP = accelerator $/hour / 3600 / sustained FLOP/s. Data: dollars per
frontier token = (expert $/hour x expert-seconds per token + machine $/hour x machine-seconds
per token) / 3600, where the seconds per token come from the runs' recorded data cost
(``scaling.data.correction``) unless the cost file sets ``expert_seconds_per_token``.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from scaling.core.errors import UserError


@dataclass(frozen=True)
class CostModel:
    """Prices; edit configs/costs/default.json (or pass ``--costs``) with your own. The defaults
    are stated assumptions, not measurements: one H100 rented at $2.50/hour (the order of
    on-demand cloud prices; chosen), sustaining 3.5e14 FLOP/s = 35% of its dense BF16 peak of
    9.89e14 (NVIDIA H100 SXM datasheet), below the 46% model-FLOPs utilisation PaLM reported
    (Chowdhery et al. 2022, Table 3); an expert corrector at $100/hour (chosen); machine time
    for generation at the accelerator's price."""

    accelerator_dollars_per_hour: float = 2.5
    accelerator_flops_per_second: float = 3.5e14
    expert_dollars_per_hour: float = 100.0
    machine_dollars_per_hour: float = 2.5
    expert_seconds_per_token: float | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if v is None and f.name == "expert_seconds_per_token":
                continue
            if (
                not isinstance(v, int | float)
                or isinstance(v, bool)
                or not math.isfinite(v)
                or v < 0
            ):
                raise UserError(f"costs.{f.name}={v!r}: must be a number >= 0")
        if self.accelerator_flops_per_second <= 0:
            raise UserError(
                f"costs.accelerator_flops_per_second={self.accelerator_flops_per_second!r}: "
                "must be > 0 (the sustained FLOP/s of one accelerator, e.g. 3.5e14)"
            )

    @property
    def dollars_per_flop(self) -> float:
        return self.accelerator_dollars_per_hour / 3600.0 / self.accelerator_flops_per_second

    def dollars_per_token(
        self, expert_seconds_per_token: float, machine_seconds_per_token: float = 0.0
    ) -> float:
        s = self.expert_seconds_per_token
        expert = expert_seconds_per_token if s is None else s
        return (
            self.expert_dollars_per_hour * expert
            + self.machine_dollars_per_hour * machine_seconds_per_token
        ) / 3600.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# the prices a cost file must set (expert_seconds_per_token may be left out: null, the runs'
# recorded expert time is used)
PRICES = (
    "accelerator_dollars_per_hour",
    "accelerator_flops_per_second",
    "expert_dollars_per_hour",
    "machine_dollars_per_hour",
)
TEMPLATE = "configs/costs/default.json"


def _read_cost_file(path: str | Path) -> Any:
    p = Path(path)
    if not p.exists():
        raise UserError(f"--costs {path}: no such file; start from {TEMPLATE}")
    if p.is_dir():
        raise UserError(f"--costs {path}: a directory; pass a JSON file such as {TEMPLATE}")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"--costs {path}: cannot be read ({exc}); start from {TEMPLATE}") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"--costs {path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None


def load_costs(path: str | Path | None) -> CostModel:
    """The cost model of a JSON file, or the defaults (``path`` None). The file sets every
    price in ``PRICES`` (a verdict priced with a default the user did not choose would read as
    theirs); a missing or unknown key is an error naming it."""
    if path is None:
        return CostModel()
    raw = _read_cost_file(path)
    if not isinstance(raw, dict):
        raise UserError(f"--costs {path}: expected a JSON object of prices")
    known = {f.name for f in fields(CostModel)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise UserError(
            f"--costs {path}: unknown key(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(known))}"
        )
    try:
        model = CostModel(**raw)  # the prices given, checked
    except UserError as exc:
        raise UserError(f"--costs {path}: {exc}") from None
    missing = [k for k in PRICES if k not in raw]
    if missing:
        raise UserError(
            f"--costs {path}: missing price(s) {', '.join(missing)}; a cost file sets "
            f"{', '.join(PRICES)} (copy {TEMPLATE} and edit it)"
        )
    return model
