"""``revision``: a hub dataset's or a pretrained tokenizer's pinned commit, tag or branch; a bad
one is refused with one line naming the field."""

from __future__ import annotations

import pytest

from scaling.core.config import DataConfig, SourceConfig, TokenizerConfig
from scaling.core.errors import UserError

BAD = ["", " ", "a b", "v1\t", "main\n", 7, 1.5]


def _one_line(info: pytest.ExceptionInfo[UserError], start: str) -> None:
    msg = str(info.value)
    assert msg.startswith(start), msg
    assert "\n" not in msg


def test_good_revisions_are_kept():
    sha = "0123456789abcdef0123456789abcdef01234567"
    src = SourceConfig(kind="hf", dataset="org/ds", revision=sha)
    DataConfig(name="hub", mixture={"hub": src})
    assert src.revision == sha
    tok = TokenizerConfig(kind="pretrained", name="gpt2", revision="refs/pr/1")
    assert tok.revision == "refs/pr/1"
    assert SourceConfig().revision is None and TokenizerConfig().revision is None


@pytest.mark.parametrize("bad", BAD)
def test_bad_source_revision_names_the_field(bad):
    src = SourceConfig(kind="hf", dataset="org/ds", revision=bad)
    with pytest.raises(UserError) as info:
        DataConfig(name="hub", mixture={"hub": src})
    _one_line(info, "data.mixture.hub.revision: must be a commit sha, tag or branch")


@pytest.mark.parametrize("bad", BAD)
def test_bad_tokenizer_revision_names_the_field(bad):
    with pytest.raises(UserError) as info:
        TokenizerConfig(kind="pretrained", name="gpt2", revision=bad)
    _one_line(info, "tokenizer.revision: must be a commit sha, tag or branch")


def test_numeric_revision_gets_a_quoting_hint():
    with pytest.raises(UserError, match=r"got 7 \(quote a numeric tag or sha\)$"):
        TokenizerConfig(kind="pretrained", name="gpt2", revision=7)


def test_revision_where_nothing_is_pinned_is_refused():
    with pytest.raises(UserError) as info:
        DataConfig(name="web", mixture={"web": SourceConfig(revision="v1")})
    _one_line(info, "data.mixture.web.revision: pins a hub dataset: set it only for kind=hf")
    with pytest.raises(UserError) as info:
        TokenizerConfig(kind="byte", revision="v1")
    _one_line(info, "tokenizer.revision: pins a hub tokenizer: set it only for kind=pretrained")
