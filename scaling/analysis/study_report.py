"""One page from many studies: ``scaling report experiments/``. No torch, no Hydra.

A study is a folder holding a ``README.md`` written in the studies' shared form (see any of
``experiments/*/README.md``): a ``# title`` line, then paragraphs that open with a bold label,
``**Question.**``, ``**Setup.**``, ``**Results.**``, ``**What it means.**`` (or ``What it
says``), ``**What it does not say.**`` (or ``Limits``). The page gathers, per study, the
question, the answer (its results, with the intervals the README states, and what they mean),
the caveats and its figures, inline; reproductions of published papers (a folder of
``scaling reproduce`` outputs: ``<name>/numbers.md`` and ``figure.png``) follow with their
numbers beside the published ones. Nothing is recomputed: each study's README and summary are
rebuilt from its stored records by its own command, which the page names.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["find_studies", "sections", "study_page", "write_study_report"]

REPORT = "REPORT.md"
LINK = re.compile(r"\]\((?!https?:|/|#)([^)]+)\)")  # a relative link or image in a README
LABEL = re.compile(r"^\*\*([A-Z][^*]*?)\.?\*\*\.?\s*(.*)$")
# the README labels each part of the page is drawn from, in order of preference
PARTS = {
    "question": ("Question",),
    "setup": ("Setup",),
    "answer": ("Results",),
    "meaning": ("What it means", "What it says"),
    "caveats": ("What it does not say", "Limits"),
}


def sections(text: str) -> dict[str, str]:
    """``{'title': ..., '<label>': paragraph(s)}`` of a study README: each bold-labelled block runs
    to the next bold label or heading; the label's own line keeps its text after the label."""
    out: dict[str, str] = {}
    current: str | None = None
    lines: list[str] = []

    def flush() -> None:
        if current is not None:
            out[current] = "\n".join(lines).strip()

    for line in text.splitlines():
        if line.startswith("# ") and "title" not in out:
            out["title"] = line[2:].strip()
            continue
        m = LABEL.match(line)
        if m or line.startswith("#"):
            flush()
            current, lines = (m.group(1).strip(), [m.group(2)]) if m else (None, [])
            continue
        if current is not None:
            lines.append(line)
    flush()
    return out


def _part(secs: dict[str, str], key: str) -> str | None:
    labels = PARTS[key]
    for name, body in secs.items():
        if any(name.lower().startswith(label.lower()) for label in labels):
            return body
    return None


def find_studies(root: str | Path) -> list[Path]:
    """Sub-folders of ``root`` that hold a README.md, by name."""
    base = Path(root)
    return sorted(p for p in base.iterdir() if p.is_dir() and (p / "README.md").is_file())


def _figures(study: Path) -> list[Path]:
    return sorted(study.glob("*.png"))


def _rel(path: Path, start: Path) -> str:
    return path.resolve().relative_to(start.resolve()).as_posix()


def study_page(study: Path, base: Path) -> list[str]:
    """The page's section for one study (figure links relative to ``base``)."""
    secs = sections((study / "README.md").read_text())
    title = secs.get("title", study.name)
    lines = [
        f"## {title}",
        "",
        f"*Folder `{_rel(study, base)}/`; its README has the command "
        "that rebuilds its numbers and figures from the stored records.*",
        "",
    ]
    parts = [(k, _part(secs, k)) for k in PARTS]
    if not any(body for key, body in parts if key in ("question", "answer")):
        lines += [
            "This study's README is not in the studies' form (no **Question.** / "
            "**Results.** paragraphs); see the folder.",
            "",
        ]
    heads = {
        "question": "Question",
        "setup": "Setup",
        "answer": "Answer",
        "meaning": "What it means",
        "caveats": "Caveats",
    }
    prefix = _rel(study, base)
    shown = ""
    for key, body in parts:
        if body:
            body = LINK.sub(lambda m: f"]({prefix}/{m.group(1)})", body)
            shown += body
            if body.startswith(("-", "|", "`", "!", "(")):  # a list, table or block: own lines
                lines += [f"**{heads[key]}.**", "", body, ""]
            else:
                lines += [f"**{heads[key]}.** {body}", ""]
    for fig in _figures(study):
        if f"{prefix}/{fig.name}" not in shown:
            lines += [f"![{fig.stem}]({_rel(fig, base)})", ""]
    return lines


def _reproduction_lines(folder: Path, base: Path) -> list[str]:
    """One section per ``scaling reproduce`` output under ``folder``: its ``numbers.md`` (ours
    with intervals beside the published numbers and their sources; headings moved two levels
    down) and its figure."""
    lines: list[str] = []
    for numbers in sorted(folder.glob("*/numbers.md")):
        for line in numbers.read_text().splitlines():
            lines.append("##" + line if line.startswith("#") else line)
        lines.append("")
        fig = numbers.parent / "figure.png"
        if fig.exists():
            lines += [f"![{numbers.parent.name}]({_rel(fig, base)})", ""]
    return lines


def write_study_report(root: str | Path, reproductions: str | Path | None = None) -> Path:
    """Write ``root/REPORT.md`` from every study under ``root`` (and the reproductions folder,
    when given and present); returns its path."""
    base = Path(root)
    studies = find_studies(base)
    lines = [
        f"# scaling-lab studies: `{base}`",
        "",
        f"`{len(studies)} studies`. Each section is drawn from the study's README (question, "
        "answer with its intervals, caveats) and its figures; rebuild this page with "
        f"`scaling report {base}`.",
        "",
    ]
    for study in studies:
        lines += study_page(study, base)
    if reproductions is not None and Path(reproductions).is_dir():
        repro = _reproduction_lines(Path(reproductions), base)
        if repro:
            lines += ["## Published results reproduced", "", *repro]
    path = base / REPORT
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text("\n".join(lines).rstrip() + "\n")
    tmp.replace(path)
    return path
