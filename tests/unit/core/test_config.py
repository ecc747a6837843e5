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
    # the defaults list of configs/train.yaml
    assert (run.name, run.model.name, run.data.name) == ("default", "s", "web")
    assert (run.tokenizer.kind, run.logger.kind) == ("byte", "none")
    assert run.budget.convention == "6N_attn"
    assert run.data.eval_domain in run.eval.domains
    assert run.model.d_ff == 4 * run.model.d_model


@pytest.mark.parametrize("group", GROUPS)
def test_every_group_option_composes(compose, group):
    """Each option builds a RunConfig that carries the option file's own values (scalars;
    null ones are derived, e.g. d_ff = 4 d_model)."""
    from omegaconf import DictConfig, ListConfig, OmegaConf

    for option in _options(group):
        run = to_run_config(compose([f"{group}={option}"]))
        section = getattr(run, group)
        values = OmegaConf.load(CONFIG_DIR / group / f"{option}.yaml")
        scalars = {
            k: v
            for k, v in values.items()
            if k != "defaults" and v is not None and not isinstance(v, DictConfig | ListConfig)
        }
        assert scalars, (group, option)
        for key, value in scalars.items():
            assert getattr(section, key) == value, (group, option, key)


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
    """A value of the wrong type is refused by the schema when Hydra merges the override: one
    line naming the override, caused by OmegaConf's error naming the key and the type."""
    from hydra.errors import ConfigCompositionException
    from omegaconf.errors import ValidationError

    with pytest.raises(
        ConfigCompositionException, match=r"^Error merging override model\.d_model=wide$"
    ) as info:
        to_run_config(compose(["model.d_model=wide"]))
    assert "\n" not in str(info.value)
    cause = info.value.__cause__
    assert isinstance(cause, ValidationError) and cause.full_key == "model.d_model"
    assert "'wide'" in str(cause) and "Integer" in str(cause)


def test_omegaconf_error_while_building_is_one_user_error_line(compose):
    """An OmegaConf error raised by to_run_config itself becomes one UserError line that
    starts with the key."""
    cfg = compose()
    cfg.model.name = "???"  # OmegaConf's missing value: composes, fails when built
    with pytest.raises(UserError, match=r"^model\.name: .*missing mandatory value: name$") as info:
        to_run_config(cfg)
    assert "\n" not in str(info.value)


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


def test_lr_by_sets_each_arms_lr_and_leaves_other_ids_alone(compose):
    table = "optim.lr_by={web: 3e-3, web/s: 2e-3, frontier: 1e-2}"
    plain = to_run_config(compose(["model=s", "data=web"]))
    assert plain.optim.lr == 6e-3 and plain.optim.lr_by == {}
    got = {
        (data, model): to_run_config(compose([f"model={model}", f"data={data}", table])).optim.lr
        for data in ("web", "frontier", "outputs_only")
        for model in ("s", "m")
    }
    assert got[("web", "s")] == 2e-3 and got[("web", "m")] == 3e-3  # most specific key wins
    assert got[("frontier", "m")] == 1e-2 and got[("outputs_only", "s")] == 6e-3
    # the table only picks optim.lr, which is hashed: a run whose LR the table leaves alone keeps
    # its id, one whose LR it changes gets a new one
    tuned = to_run_config(compose(["model=m", "data=outputs_only", table]))
    untuned = to_run_config(compose(["model=m", "data=outputs_only"]))
    assert tuned.optim.lr == untuned.optim.lr
    assert run_id(tuned.to_dict()) == run_id(untuned.to_dict())
    web_s = to_run_config(compose(["model=s", "data=web", table]))
    same = to_run_config(compose(["model=s", "data=web", "optim.lr=2e-3"]))
    assert run_id(web_s.to_dict()) == run_id(same.to_dict()) != run_id(plain.to_dict())
    with pytest.raises(UserError, match=r"optim.lr_by.web: must be a learning rate > 0"):
        to_run_config(compose(["optim.lr_by={web: -1}"]))
