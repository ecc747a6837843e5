"""Configs: every shipped config composes and validates; bad fields fail with one clear line."""

from pathlib import Path

import pytest

from scaling.cli.config import CONFIG_DIR, to_run_config
from scaling.core.config import ModelConfig, RunConfig
from scaling.core.errors import UserError
from scaling.runs.identity import config_hash, run_id

EXPERIMENTS = sorted(p.stem for p in (CONFIG_DIR / "experiment").glob("*.yaml"))
GROUPS = ["model", "data", "budget", "optim", "tokenizer", "eval", "logger"]


def _options(group):
    return sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))


def test_default_composes_and_validates(compose):
    run = to_run_config(compose())
    assert isinstance(run, RunConfig)
    assert run.data.eval_domain in run.eval.domains
    assert run.model.d_ff == 4 * run.model.d_model


@pytest.mark.parametrize("group", GROUPS)
def test_every_group_option_composes(compose, group):
    for option in _options(group):
        run = to_run_config(compose([f"{group}={option}"]))
        assert isinstance(run, RunConfig), (group, option)


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_composes_with_each_sweep_point(compose, experiment):
    """Each grid point of the experiment's sweep builds a valid RunConfig."""
    cfg = compose([f"experiment={experiment}"], return_hydra_config=True)
    params = cfg.hydra.sweeper.params or {}
    assert str(cfg.hydra.mode) == "RunMode.MULTIRUN" or not params
    first = [f"{k}={str(v).split(',')[0]}" for k, v in params.items()]
    last = [f"{k}={str(v).split(',')[-1]}" for k, v in params.items()]
    for overrides in (first, last):
        run = to_run_config(compose([f"experiment={experiment}", *overrides]))
        assert run.name == experiment


def test_mixture_configs_do_not_leak_sources(compose):
    run = to_run_config(compose(["data=frontier"]))
    assert list(run.data.mixture) == ["frontier"]


def test_n_head_must_divide_d_model():
    with pytest.raises(UserError, match=r"model.n_head=7 does not divide model.d_model=64"):
        ModelConfig(n_head=7, d_model=64)


def test_bad_enum_names_field_and_allowed(compose):
    with pytest.raises(UserError, match=r"budget.convention: '7N' is not one of 6N_nonembed"):
        to_run_config(compose(["budget.convention=7N"]))


def test_type_error_from_omegaconf_is_one_line(compose):
    with pytest.raises(Exception) as info:
        to_run_config(compose(["model.d_model=wide"]))
    assert "d_model" in str(info.value) and "\n" not in str(info.value)


def test_run_id_ignores_runtime_and_logger_but_not_science():
    a = RunConfig().to_dict()
    b = RunConfig().to_dict()
    b["runtime"]["threads"] = 8
    b["runtime"]["out_dir"] = "/elsewhere"
    b["logger"]["kind"] = "wandb"
    assert run_id(a) == run_id(b)
    c = RunConfig().to_dict()
    c["optim"]["lr"] = 1e-3
    assert config_hash(a) != config_hash(c)
    d = RunConfig().to_dict()
    d["budget"]["flops"] = 300000000000  # int vs float of the same budget (3e11)
    assert run_id(a) == run_id(d)


def test_configs_dir_is_the_repo_configs():
    assert (CONFIG_DIR / "train.yaml").exists()
    assert Path(CONFIG_DIR).name == "configs"
