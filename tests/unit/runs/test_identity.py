"""Run identity: fields added to the scientific config later (``revision``) leave every id
that does not set them unchanged, and change the id when set."""

from __future__ import annotations

import copy

from scaling.core.config import RunConfig, SourceConfig, TokenizerConfig
from scaling.runs import identity

# identity.run_id(RunConfig().to_dict()) before SourceConfig/TokenizerConfig had ``revision``
DEFAULT_RUN_ID = "web-s-3e11-s0-e498fd8889"


def _without_revisions(config: dict) -> dict:
    """A config dict as written before ``revision`` existed (an old run's config.yaml)."""
    old = copy.deepcopy(config)
    old["tokenizer"].pop("revision")
    for section, sources in (("data", "mixture"), ("eval", "domains")):
        for src in old[section][sources].values():
            src.pop("revision")
    return old


def _arith_eval_default() -> RunConfig:
    """``RunConfig()`` with the eval it had before the frontier mixture (eval=arith: web, and
    arithmetic traces and outputs, the arithmetic task): the config DEFAULT_RUN_ID was issued to."""
    from scaling.core.config import TaskEvalConfig

    run = RunConfig()
    run.eval.domains = {
        "web": SourceConfig(),
        "trace": SourceConfig(kind="generator", form="trace"),
        "outputs": SourceConfig(kind="generator", form="outputs_only"),
    }
    run.eval.tasks = {"arithmetic": TaskEvalConfig()}
    return run


def test_default_run_id_is_unchanged_by_the_later_fields():
    """``revision``, eval ``score`` and ``optim.lr_by`` left unset keep the id issued before
    they existed."""
    config = _arith_eval_default().to_dict()
    assert config["tokenizer"]["revision"] is None and config["optim"]["lr_by"] == {}
    assert all(src["score"] is None for src in config["eval"]["domains"].values())
    assert identity.run_id(config) == DEFAULT_RUN_ID
    assert identity.run_id(_without_revisions(config)) == DEFAULT_RUN_ID
    old = _without_revisions(config)
    old["optim"].pop("lr_by")
    for src in old["eval"]["domains"].values():
        src.pop("score")
    assert identity.run_id(old) == DEFAULT_RUN_ID


def test_a_pinned_revision_changes_the_run_id():
    hub = SourceConfig(kind="hf", dataset="org/ds", max_documents=100)
    run = RunConfig()
    run.data.mixture = {"web": hub}
    unpinned = identity.run_id(run.to_dict())
    assert unpinned == identity.run_id(_without_revisions(run.to_dict()))
    hub.revision = "v1"
    pinned = identity.run_id(run.to_dict())
    hub.revision = "v2"
    assert len({unpinned, pinned, identity.run_id(run.to_dict())}) == 3
    tok = RunConfig(tokenizer=TokenizerConfig(kind="pretrained", name="gpt2"))
    tok_pinned = RunConfig(tokenizer=TokenizerConfig(kind="pretrained", name="gpt2", revision="a1"))
    assert identity.run_id(tok.to_dict()) != identity.run_id(tok_pinned.to_dict())
