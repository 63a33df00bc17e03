"""Tests of ``robot6_sb3.planning``: a ``TrainConfig`` checked against this machine and the
checkpoint it resumes, before anything is written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from robot6_sb3.config_fields import ConfigError
from robot6_sb3.errors import CheckpointError, IncompatibleCheckpointError
from robot6_sb3.hyperparameters import Hyperparameters
from robot6_sb3.planning import checkpoints_root, plan_training
from robot6_sb3.run_settings import RunSettings
from robot6_sb3.trainer import run_training
from robot6_sb3.training_config import SEED_RANGE, TrainConfig
from tests.helpers import tree_bytes

TINY = {"net_arch": (16,), "batch_size": 16, "learning_starts": 20, "buffer_size": 1000}


def _config(root: Path, **options: object) -> TrainConfig:
    return TrainConfig.from_options(
        checkpoints_dir=root / "checkpoints", runs_dir=root / "runs", **options
    )


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``latest.pth`` of a 2-episode SAC run saved every episode, keeping 3 checkpoints."""
    root = tmp_path_factory.mktemp("planning")
    config = _config(root, episodes=2, seed=4, save_every=1, keep_last=3, **TINY)
    return run_training(plan_training(config)).paths.latest


def test_a_new_run_takes_everything_from_the_config(tmp_path: Path) -> None:
    config = _config(tmp_path, algo="td3", seed=9, n_envs=2, gamma=0.9, save_every=7)

    plan = plan_training(config)

    assert (plan.algo, plan.env_id, plan.seed, plan.n_envs) == ("td3", config.env_id, 9, 2)
    assert plan.hyperparameters == Hyperparameters(gamma=0.9)
    assert plan.settings == RunSettings(save_every=7)
    assert plan.source is None and plan.start_episode == 0 and plan.notices == []
    assert checkpoints_root(plan) == (tmp_path / "checkpoints").resolve()
    assert not tmp_path.joinpath("checkpoints").exists(), "planning writes nothing"


def test_a_new_run_without_a_seed_draws_one_numpy_accepts(tmp_path: Path) -> None:
    seeds = {plan_training(_config(tmp_path)).seed for _ in range(5)}

    assert len(seeds) > 1 and all(0 <= seed < SEED_RANGE for seed in seeds)


def test_resuming_keeps_the_saved_settings_and_applies_only_the_given_ones(
    saved: Path,
) -> None:
    config = TrainConfig.from_options(resume_ckpt=saved, episodes=4, learning_rate=5e-4, seed=1)

    plan = plan_training(config)

    assert plan.continues_run and plan.start_episode == 2 and plan.start_step == 100
    assert plan.seed == 4, "the saved seed, not the one given"
    assert plan.hyperparameters == Hyperparameters(learning_rate=5e-4, **TINY)
    assert plan.settings.save_every == 1 and plan.settings.keep_last == 3
    assert [(n.field, n.text) for n in plan.notices] == [
        ("learning_rate", "changed from 0.001 to 0.0005; applied to the restored optimizers"),
        ("seed", "1 ignored: a resumed run continues the saved random state"),
    ]
    assert plan.log_dir == (saved.parent.parent.parent / "runs" / saved.parent.name).resolve()
    assert checkpoints_root(plan) == saved.parent.parent.resolve()


def test_a_given_run_setting_wins_over_the_saved_one_with_a_notice(saved: Path) -> None:
    config = TrainConfig.from_options(resume_ckpt=saved, episodes=4, keep_last=9)

    plan = plan_training(config)

    assert plan.settings == RunSettings(
        save_every=1, keep_last=9, log_dir=plan.checkpoint["metadata"]["settings"]["log_dir"]
    )
    assert [str(n) for n in plan.notices] == ["keep_last changed from 3 to 9 for this run"]


def test_a_copy_of_latest_elsewhere_forks_beside_nothing(saved: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copied.pth"
    shutil.copy(saved, copy)

    plan = plan_training(_config(tmp_path, resume_ckpt=copy, episodes=4))

    assert not plan.continues_run and plan.source == copy
    assert checkpoints_root(plan) == (tmp_path / "checkpoints").resolve()


@pytest.mark.parametrize(
    ("options", "names"),
    [
        ({"algo": "tqc"}, ["algo: checkpoint has sac, you asked for tqc"]),
        ({"n_envs": 2, "net_arch": (8,)}, ["net_arch: checkpoint has 16", "n_envs: checkpoint"]),
        ({"env_id": "Robot6ReachGoal-v0"}, ["env_id: checkpoint has Robot6Reach-v0"]),
    ],
)
def test_a_resume_that_cannot_continue_as_asked_names_every_mismatch(
    saved: Path, options: dict, names: list[str]
) -> None:
    before = tree_bytes(saved.parent)

    with pytest.raises(IncompatibleCheckpointError) as caught:
        plan_training(TrainConfig.from_options(resume_ckpt=saved, episodes=4, **options))

    for name in names:
        assert name in str(caught.value)
    assert tree_bytes(saved.parent) == before


def test_resume_without_any_checkpoint_starts_a_new_run_and_says_so(tmp_path: Path) -> None:
    plan = plan_training(_config(tmp_path, resume=True))

    assert plan.resume_not_found and plan.source is None and plan.skipped == []


def test_a_damaged_resume_ckpt_is_refused(tmp_path: Path) -> None:
    damaged = tmp_path / "latest.pth"
    damaged.write_bytes(b"not a checkpoint")

    with pytest.raises(CheckpointError, match=r"latest\.pth"):
        plan_training(_config(tmp_path, resume_ckpt=damaged))


@pytest.mark.parametrize(
    ("options", "field", "words"),
    [
        ({"env_id": "Nope-v0"}, "env_id", "'Nope-v0' is unknown"),
        ({"device": "cuda"}, "device", "no CUDA GPU"),
        (
            {"env_id": "Robot6ReachGoal-v0", "n_envs": 2, "learning_starts": 60},
            "learning_starts",
            "needs at least 100 steps",
        ),
    ],
)
def test_what_only_this_machine_can_check_is_refused_naming_the_field(
    tmp_path: Path, options: dict, field: str, words: str
) -> None:
    import torch

    if field == "device" and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")

    with pytest.raises(ConfigError) as caught:
        plan_training(_config(tmp_path, **options))

    assert caught.value.field == field and words in caught.value.problem
    assert list(tmp_path.iterdir()) == []
