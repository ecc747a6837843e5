"""The shared result of a reproduction: rows of numbers (ours with a 95% interval beside the
published value and its source), the figure, and how they are written and printed.

Every row's own number carries an interval or says why it has none (``Estimate.why``); the
published side names its paper and table or section (``Published.source``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from scaling.core.io import atomic_write, atomic_write_json, atomic_write_text, jsonable

FILES = ("figure.png", "figure.pdf", "numbers.json", "numbers.md")


def bar_extent(
    value: float, interval: tuple[float, float], scale: float = 1.0
) -> list[list[float]]:
    """matplotlib's [[below], [above]] error-bar lengths of ``interval`` around ``value``; a side
    where the point lies outside its percentile interval (possible for a weighted point estimate
    or a few resamples) gets length 0."""
    lo, hi = interval
    return [[max(0.0, scale * (value - lo))], [max(0.0, scale * (hi - value))]]


@dataclass(frozen=True)
class Estimate:
    """Our number: a value, its 95% interval (``interval``) from ``method``, or ``why`` it has
    none (a count, an exact objective value, a fit without residual degrees of freedom)."""

    value: float
    interval: tuple[float, float] | None = None
    method: str = ""
    why: str = ""

    def __post_init__(self) -> None:
        if self.interval is None and not self.why:
            raise ValueError("an Estimate without an interval must say why it has none")


@dataclass(frozen=True)
class Published:
    """A published number with its source (paper + table/section, or repository + file) and
    its published interval, when there is one."""

    value: float
    source: str
    interval: tuple[float, float] | None = None


@dataclass(frozen=True)
class Row:
    """One quantity: ours beside the published value (None where nothing was published).
    ``scale`` multiplies values for display (100 for percentages), ``unit`` follows them."""

    quantity: str
    ours: Estimate
    published: Published | None = None
    note: str = ""
    scale: float = 1.0
    unit: str = ""
    digits: int = 4

    @property
    def difference(self) -> float | None:
        """ours - published (in the row's own units, before ``scale``)."""
        if self.published is None:
            return None
        return self.ours.value - self.published.value

    @property
    def published_in_ours(self) -> bool | None:
        """Whether the published value lies inside our interval (None when either is absent)."""
        iv = self.ours.interval
        if self.published is None or iv is None:
            return None
        return bool(iv[0] <= self.published.value <= iv[1])

    @property
    def ours_in_published(self) -> bool | None:
        """Whether our value lies inside the published interval (None when there is none)."""
        if self.published is None or self.published.interval is None:
            return None
        lo, hi = self.published.interval
        return bool(lo <= self.ours.value <= hi)

    def fmt(self, v: float | None) -> str:
        if v is None:
            return "-"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        if not math.isfinite(v):
            return "-"
        return f"{v * self.scale:.{self.digits}g}{self.unit}"

    def interval_text(self, iv: tuple[float, float] | None) -> str:
        if iv is None:
            return ""
        close = ")" if math.isinf(iv[1]) else "]"  # an unbounded side is open
        return f" [{self.fmt(iv[0])}, {self.fmt(iv[1])}{close}"

    def to_dict(self) -> dict[str, Any]:
        pub = None
        if self.published is not None:
            pub = {
                "value": self.published.value,
                "interval": list(self.published.interval) if self.published.interval else None,
                "source": self.published.source,
            }
        return {
            "quantity": self.quantity,
            "ours": {
                "value": self.ours.value,
                "interval_95": list(self.ours.interval) if self.ours.interval else None,
                "interval_method": self.ours.method,
                "no_interval_because": self.ours.why or None,
            },
            "published": pub,
            "difference": self.difference,
            "published_inside_our_interval": self.published_in_ours,
            "ours_inside_published_interval": self.ours_in_published,
            "note": self.note or None,
            "display": {"scale": self.scale, "unit": self.unit},
        }


@dataclass
class Reproduction:
    """What one reproduction made: its rows, figure and caption, the tables it read."""

    name: str
    title: str
    tables: list[str]
    rows: list[Row]
    figure: Figure
    caption: str
    bootstrap: int
    seed: int
    notes: list[str] = field(default_factory=list)
    seconds: float = float("nan")
    details: dict[str, Any] = field(default_factory=dict)

    def sources(self) -> list[str]:
        """The distinct published sources, in order of first use (footnotes [1], [2], ...)."""
        out: list[str] = []
        for r in self.rows:
            if r.published is not None and r.published.source not in out:
                out.append(r.published.source)
        return out

    def cells(self) -> list[tuple[str, str, str, str]]:
        """(quantity, ours [95% CI], published [ref], difference) per row, as displayed."""
        refs = {s: i + 1 for i, s in enumerate(self.sources())}
        out = []
        for r in self.rows:
            ours = r.fmt(r.ours.value) + (
                r.interval_text(r.ours.interval) if r.ours.interval else f" (no CI: {r.ours.why})"
            )
            if r.published is None:
                pub = "not published"
            else:
                pub = r.fmt(r.published.value) + r.interval_text(r.published.interval)
                pub += f" [{refs[r.published.source]}]"
            diff = "-" if r.difference is None else f"{r.difference * r.scale:+.3g}{r.unit}"
            out.append((r.quantity + (f" ({r.note})" if r.note else ""), ours, pub, diff))
        return out

    def markdown(self) -> str:
        """numbers.md: the table (quantity | ours [95% CI] | published | difference), then the
        sources, notes and how it was made."""
        lines = [
            f"# {self.title}",
            "",
            f"Tables: {', '.join(self.tables)}. Bootstrap: {self.bootstrap} resamples, "
            f"seed {self.seed}. Runtime: {self.seconds:.1f} s.",
            "",
            "| quantity | ours [95% CI] | published | difference |",
            "|---|---|---|---|",
        ]
        lines += [f"| {q} | {o} | {p} | {d} |" for q, o, p, d in self.cells()]
        lines += ["", "Sources:", ""]
        lines += [f"{i}. {s}" for i, s in enumerate(self.sources(), 1)]
        if self.notes:
            lines += ["", "Notes:", ""] + [f"- {n}" for n in self.notes]
        lines += ["", f"Figure: {self.caption}", ""]
        return "\n".join(lines)

    def text(self) -> str:
        """The table for the terminal, columns aligned, then the sources."""
        header = ("quantity", "ours [95% CI]", "published", "difference")
        rows = [header, *self.cells()]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        out = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
        out.insert(1, "  ".join("-" * w for w in widths))
        out += [f"[{i}] {s}" for i, s in enumerate(self.sources(), 1)]
        return "\n".join(out)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "name": self.name,
                "title": self.title,
                "tables": self.tables,
                "bootstrap": self.bootstrap,
                "seed": self.seed,
                "seconds": self.seconds,
                "rows": [r.to_dict() for r in self.rows],
                "sources": self.sources(),
                "notes": self.notes,
                "caption": self.caption,
                "details": self.details,
            }
        )

    def write(self, out_dir: str | Path) -> Path:
        """Write ``<out_dir>/<name>/`` figure.png, figure.pdf, numbers.json, numbers.md (each
        atomically); returns the directory."""
        d = Path(out_dir) / self.name
        d.mkdir(parents=True, exist_ok=True)
        for ext in ("png", "pdf"):
            atomic_write(
                d / f"figure.{ext}",
                lambda fh, ext=ext: self.figure.savefig(fh, format=ext, bbox_inches="tight"),
            )
        atomic_write_json(d / "numbers.json", self.to_dict())
        atomic_write_text(d / "numbers.md", self.markdown())
        return d
