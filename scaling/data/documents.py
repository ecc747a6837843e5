"""The unit of data: a document with an id, its text and, for traces, role-tagged segments."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Document:
    """``segments`` are (text, role) pairs that concatenate to ``text``; roles are
    ``prompt``, ``trace``, ``answer`` (frontier data) or ``text`` (everything else)."""

    doc_id: str
    text: str
    segments: tuple[tuple[str, str], ...] | None = None

    def parts(self) -> tuple[tuple[str, str], ...]:
        return self.segments if self.segments is not None else ((self.text, "text"),)
