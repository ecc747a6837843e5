"""``scaling report experiments/``: one page from the studies' READMEs, figures and the
reproductions' numbers."""

from __future__ import annotations

from pathlib import Path

from scaling.analysis.study_report import find_studies, sections, write_study_report

README = """# demo: does it work?

**Question.** Does the thing work?

**Setup.** Ran it. ![the figure](fig.png)

**Results.**
- it works: 0.5 [0.4, 0.6]

**What it means.** It works at this scale.

**What it does not say.** Anything at larger scale.
"""


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "experiments"
    (root / "demo").mkdir(parents=True)
    (root / "demo" / "README.md").write_text(README)
    (root / "demo" / "fig.png").write_bytes(b"png")
    (root / "demo" / "other.png").write_bytes(b"png")
    (root / "notes").mkdir()
    (root / "notes" / "README.md").write_text("# notes\n\nfree text\n")
    (root / "empty").mkdir()
    rep = root / "reproductions" / "porian"
    rep.mkdir(parents=True)
    (rep / "numbers.md").write_text("# Porian et al.\n\n| q | ours | published |\n|---|---|---|\n")
    (rep / "figure.png").write_bytes(b"png")
    return root


def test_sections_split_a_readme_by_its_bold_labels():
    s = sections(README)
    assert s["title"] == "demo: does it work?"
    assert s["Question"] == "Does the thing work?"
    assert s["Results"].startswith("- it works: 0.5 [0.4, 0.6]")
    assert s["What it does not say"] == "Anything at larger scale."


def test_report_gathers_every_study_and_the_reproductions(tmp_path):
    root = _tree(tmp_path)
    assert [p.name for p in find_studies(root)] == ["demo", "notes"]
    text = write_study_report(root, reproductions=root / "reproductions").read_text()
    assert text.index("## demo") < text.index("## notes") < text.index("Published results")
    assert "**Question.** Does the thing work?" in text
    assert "**Caveats.** Anything at larger scale." in text
    assert "](demo/fig.png)" in text and text.count("demo/fig.png") == 1  # linked once
    assert "](demo/other.png)" in text  # figures the README does not show are added
    assert "not in the studies' form" in text  # notes/ has no Question/Results
    assert "### Porian et al." in text and "](reproductions/porian/figure.png)" in text
    assert not list(root.glob("*.tmp"))


def test_scaling_report_on_a_folder_of_studies(tmp_path, capsys):
    from scaling.cli.main import main

    root = _tree(tmp_path)
    assert main(["report", str(root)]) == 0
    assert "report of 2 studies" in capsys.readouterr().out
    assert (root / "REPORT.md").is_file()
