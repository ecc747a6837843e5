"""Offline web-like English prose mined from documentation already installed on the machine.

Sources, in a fixed order: Python's doc topics (``pydoc_data.topics``, the text of the language
reference shipped with CPython) and the docstrings of the standard library and of installed
packages, read with ``ast`` from the source files (nothing is imported or executed).

Only prose survives: doctest and code lines, reST directives, section underlines and tables are
dropped, and a paragraph is kept when it has at least 6 words and at least 70% letters or
spaces (the filter used for the offline corpus in ../shared/anchors, PROVENANCE.md).
Documents are one doc topic or one source module. The result is deterministic for a given
Python version and set of package versions, which are recorded with a content hash
(``Corpus.provenance``); the held-out split is by document: ``sha256(doc_id) % 20 == 0``.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import importlib.util
import re
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

from scaling.core.errors import UserError
from scaling.data.documents import Document

MINER_VERSION = "installed-docs-v1"
_SKIP_DIRS = {
    "test",
    "tests",
    "testing",
    "__pycache__",
    "idlelib",
    "lib2to3",
    "site-packages",
    "_vendor",
    "vendored",
    "_vendored",
    "third_party",
    "benchmarks",
    "tkinter",
    "turtledemo",
    "ensurepip",
    "pydoc_data",
}
_CODE_LINE = re.compile(r"^\s*(>>>|\.\.\.|\.\. |:[a-z]+:|[-=~^*+#]{3,}\s*$|\||[$%])")
_MIN_WORDS = 6
_MIN_LETTER_FRACTION = 0.70
# Documents shorter than 200 characters are dropped. Measured by mining stdlib + numpy (Python
# 3.11.7, numpy 2.4.6) without the floor: it drops 157 of 715 non-empty documents holding 0.6% of
# the text, nearly all one-sentence module docstrings ("The asyncio package, tracking PEP 3156.").
_MIN_DOC_CHARS = 200

# installed distribution name for a top-level import name, when they differ
_DIST_NAMES = {"sklearn": "scikit-learn", "yaml": "PyYAML", "PIL": "Pillow"}


def clean_paragraphs(text: str) -> list[str]:
    """Prose paragraphs of a docstring or doc topic, each joined onto one line."""
    out = []
    for block in re.split(r"\n\s*\n", text):
        lines = [ln for ln in block.splitlines() if ln.strip() and not _CODE_LINE.match(ln)]
        if not lines:
            continue
        para = " ".join(ln.strip() for ln in lines)
        para = re.sub(r"``?([^`]+)``?", r"\1", para)  # reST literals -> plain words
        para = re.sub(r":[a-z:]+:`~?([^`]+)`", r"\1", para)
        para = re.sub(r"\s+", " ", para).strip()
        words = para.split()
        if len(words) < _MIN_WORDS:
            continue
        letters = sum(ch.isalpha() or ch == " " for ch in para)
        if letters / len(para) < _MIN_LETTER_FRACTION:
            continue
        out.append(para)
    return out


def _docstrings(path: Path) -> list[str]:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (SyntaxError, UnicodeDecodeError, ValueError, OSError):
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            doc = ast.get_docstring(node, clean=True)
            if doc:
                found.append(doc)
    return found


def _package_root(name: str) -> Path | None:
    if name == "stdlib":
        return Path(sysconfig.get_paths()["stdlib"])
    spec = importlib.util.find_spec(name)  # finds, does not import, a top-level package
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def package_version(name: str) -> str:
    if name == "stdlib":
        return sys.version.split()[0]
    try:
        return importlib.metadata.version(_DIST_NAMES.get(name, name))
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _module_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).parts
        if any(part in _SKIP_DIRS or part.startswith("test_") for part in rel[:-1]):
            continue
        if rel[-1].startswith("test_") or rel[-1] == "conftest.py":
            continue
        yield path


def _topic_documents() -> Iterator[Document]:
    from pydoc_data.topics import topics

    for key in sorted(topics):
        paras = clean_paragraphs(topics[key])
        text = "\n\n".join(paras)
        if len(text) >= _MIN_DOC_CHARS:
            yield Document(doc_id=f"pydoc/{key}", text=text)


def mine(packages: list[str]) -> Iterator[Document]:
    """Documents in deterministic order; unknown packages raise UserError naming them."""
    roots = {}
    for name in packages:
        root = _package_root(name)
        if root is None:
            raise UserError(
                f"data source installed_docs: package {name!r} is not installed; "
                "list installed packages or 'stdlib' in packages"
            )
        roots[name] = root
    if "stdlib" in roots:
        yield from _topic_documents()
    for name, root in roots.items():
        for path in _module_files(root):
            paras = []
            for doc in _docstrings(path):
                paras.extend(clean_paragraphs(doc))
            text = "\n\n".join(dict.fromkeys(paras))  # drop repeated paragraphs, keep order
            if len(text) >= _MIN_DOC_CHARS:
                rel = path.relative_to(root).with_suffix("").as_posix()
                yield Document(doc_id=f"{name}/{rel}", text=text)


def corpus_key(packages: list[str]) -> dict[str, str]:
    """What the mined bytes depend on: miner version, Python and package versions."""
    key = {"miner": MINER_VERSION, "python": sys.version.split()[0]}
    for name in packages:
        key[name] = package_version(name)
    return key


def is_heldout(doc_id: str) -> bool:
    """Held-out split by document: 1 in 20 documents, by sha256 of the id."""
    return int(hashlib.sha256(doc_id.encode()).hexdigest(), 16) % 20 == 0
