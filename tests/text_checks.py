"""Checks on the product's text: no estimated number without its interval."""

from __future__ import annotations

import re

NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?%?|[-+]?∞"
INTERVAL = rf"(?:(?:{NUM}) )?\[(?:{NUM}), (?:{NUM})\]"


def bare_numbers(text: str) -> list[str]:
    """Numbers in ``text`` that are neither an estimate with its interval (``v [lo, hi]``), an
    input in a code span, the 95% coverage, nor part of a citation or a name."""
    t = re.sub(r"`[^`]*`", " ", text)
    t = re.sub(r"et al\. \d{4}[a-z]?", " ", t)
    t = re.sub(r"§[\d.]+", " ", t)
    t = re.sub(r"arXiv:?\s?[\d.]+", " ", t)
    t = re.sub(INTERVAL, " ", t)
    t = t.replace("95%", " ").replace("C^a", " ").replace("C^b", " ").replace("R²", " ")
    t = re.sub(r"\b[A-Za-z_]+\d+[A-Za-z_\d]*\b", " ", t)  # names such as val_web2
    return re.findall(NUM, t)
