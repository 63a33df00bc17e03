"""Tests of ``robot6_sb3.training_config``: one typed value for a training session, built the
same way by the CLI, a sweep and a Python caller, with every default said once."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import typer.main

from robot6_sb3 import ResumableCheckpointCallback
from robot6_sb3.cli import app
from robot6_sb3.cli.app import option_names
from robot6_sb3.config_fields import ConfigError
from robot6_sb3.hyperparameters import Hyperparameters
from robot6_sb3.run_settings import RunSettings
from robot6_sb3.training_config import ALL_FIELDS, TrainConfig, describe


def test_options_land_in_their_own_dataclass_and_are_remembered_as_given() -> None:
    config = TrainConfig.from_options(
        episodes=7, learning_rate=3e-4, save_every=5, net_arch=[64, 64], seed=None
    )

    assert config.episodes == 7 and config.seed is None
    assert config.hyperparameters == Hyperparameters(learning_rate=3e-4, net_arch=(64, 64))
    assert config.settings == RunSettings(save_every=5)
    assert config.given == {"episodes", "learning_rate", "save_every", "net_arch"}
    assert config.given_settings() == {"save_every": 5}
    assert config.given_hyperparameters() == {"learning_rate", "net_arch"}


def test_a_checkpoint_to_resume_implies_resume() -> None:
    config = TrainConfig.from_options(resume_ckpt=Path("x/latest.pth"))

    assert config.resume and config.was_given("resume_ckpt")
    assert not TrainConfig.from_options().resume


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"episodes": 0}, "episodes"),
        ({"algo": "ppo"}, "algo"),
        ({"seed": 2**32}, "seed"),
        ({"device": "tpu"}, "device"),
        ({"vec_env": "threads"}, "vec_env"),
        ({"keep_last": 0}, "keep_last"),
        ({"eval_episodes": 0}, "eval_episodes"),
        ({"gamma": 1.5}, "gamma"),
        ({"ent_coef": "lots"}, "ent_coef"),
        ({"net_arch": ()}, "net_arch"),
        ({"learning_rte": 1e-3}, "learning_rte"),
    ],
)
def test_a_bad_option_is_refused_naming_its_field(options: dict, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        TrainConfig.from_options(**options)

    assert caught.value.field == field


def test_replace_counts_the_changed_fields_as_given() -> None:
    config = TrainConfig.from_options(episodes=3).replace(seed=5, labels={"trial": 1})

    assert config.given == {"episodes", "seed"}
    assert config.labels == {"trial": 1}


def test_robot6_train_has_one_option_per_field_with_its_help() -> None:
    command = typer.main.get_command(app).commands["train"]
    declared = {
        tuple(param.opts + param.secondary_opts): param
        for param in command.params
        if param.name != "progress" and param.name != "help"
    }

    for name in ALL_FIELDS:
        names = option_names(name).split("/")
        param = declared.pop(tuple(names))
        assert param.name == name, "the option's value reaches the field of its own name"
        assert param.help.startswith(describe(name)), name
    assert declared == {}, f"options without a field: {list(declared)}"


def test_the_callback_takes_its_defaults_from_the_run_settings() -> None:
    parameters = inspect.signature(ResumableCheckpointCallback).parameters
    defaults = RunSettings()

    for name in ("save_every", "keep_last", "replay_log", "eval_every", "eval_episodes"):
        assert parameters[name].default == getattr(defaults, name), name
