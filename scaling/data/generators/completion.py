"""Reading a completion: its answer line, its step lines and the back-off markers in them.

The answer line is the first line that starts with ``ANSWER_PREFIX``; the step lines are the
lines before it. The back-off marker ``RETRY_MARKER`` retracts the previous step: the retracted
step no longer counts as written for the steps after it (``effective_lines``).
"""

from __future__ import annotations

from collections.abc import Sequence

from scaling.data.generators.example import ANSWER_PREFIX, RETRY_MARKER

__all__ = ["answer_line", "effective_lines", "is_marker", "step_lines"]


def answer_line(completion: str) -> str | None:
    """The text after ``"A: "`` on the first line that starts with it, or None.

    A last line without its newline counts as a line (a completion may stop at end-of-text).
    """
    if not isinstance(completion, str):
        return None
    start = 0
    n = len(completion)
    while start <= n:
        end = completion.find("\n", start)
        if end < 0:
            end = n
        if completion.startswith(ANSWER_PREFIX, start, end):
            return completion[start + len(ANSWER_PREFIX) : end]
        start = end + 1
    return None


def step_lines(completion: str) -> list[str]:
    """The lines of ``completion`` before its first answer line (without newlines).

    An unterminated last line is kept (a truncated step); a trailing empty string is not.
    """
    if not isinstance(completion, str):
        return []
    lines = completion.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    out = []
    for line in lines:
        if line.startswith(ANSWER_PREFIX):
            break
        out.append(line)
    return out


def is_marker(line: str) -> bool:
    """Whether a step line is the back-off marker (``RETRY_MARKER``)."""
    return line.strip() == RETRY_MARKER


def effective_lines(lines: Sequence[str]) -> list[str]:
    """Step lines with every marker and the line it retracts removed (newlines stripped)."""
    out: list[str] = []
    for raw in lines:
        line = raw.rstrip("\n")
        if is_marker(line):
            if out:
                out.pop()
        else:
            out.append(line)
    return out
