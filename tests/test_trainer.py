"""Tests of ``robot6_sb3.trainer``: ``run_training`` over a plan, as ``robot6 train`` and the
sweeps call it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from stable_baselines3 import TD3

from robot6_sb3.config_fields import ConfigError
from robot6_sb3.planning import plan_training
from robot6_sb3.trainer import TrainingStart, run_training
from robot6_sb3.training_config import TrainConfig
from tests.helpers import load

TINY = {"net_arch": (16,), "batch_size": 16, "learning_starts": 20, "buffer_size": 1000}


def _config(root: Path, **options: object) -> TrainConfig:
    return TrainConfig.from_options(
        checkpoints_dir=root / "checkpoints", runs_dir=root / "runs", seed=2, **TINY, **options
    )


def test_a_run_trains_its_episodes_and_says_where_it_left_them(tmp_path: Path) -> None:
    starts: list[TrainingStart] = []

    result = run_training(
        plan_training(_config(tmp_path, episodes=2, algo="td3")), on_start=starts.append
    )

    assert (result.episodes, result.global_step, result.stopped_early) == (2, 100, False)
    assert isinstance(result.model, TD3) and result.model.num_timesteps == 100
    assert result.paths.checkpoint_dir.parent == (tmp_path / "checkpoints").resolve()
    assert load(result.paths.latest)["episode"] == 2
    assert len(starts) == 1 and starts[0].metadata.algo == "td3"
    assert starts[0].paths == result.paths


def test_sub_envs_finish_their_episodes_together_so_the_count_rounds_up(tmp_path: Path) -> None:
    result = run_training(plan_training(_config(tmp_path, episodes=3, n_envs=2)))

    assert result.episodes == 4 and result.global_step == 200, "2 rounds of 50 steps in 2 envs"


def test_a_resumed_run_keeps_its_seed_in_the_metadata(tmp_path: Path) -> None:
    first = run_training(plan_training(_config(tmp_path, episodes=1)))
    resumed = TrainConfig.from_options(resume_ckpt=first.paths.latest, episodes=2)

    run_training(plan_training(resumed))

    latest = load(first.paths.latest)
    assert latest["episode"] == 2 and latest["metadata"]["seed"] == 2


def test_asking_for_no_more_episodes_than_saved_is_refused(tmp_path: Path) -> None:
    first = run_training(plan_training(_config(tmp_path, episodes=1)))
    plan = plan_training(TrainConfig.from_options(resume_ckpt=first.paths.latest, episodes=1))

    with pytest.raises(ConfigError) as caught:
        run_training(plan)

    assert caught.value.field == "episodes" and "already has 1" in caught.value.problem


def test_a_stop_request_ends_training_with_consistent_files(tmp_path: Path) -> None:
    steps = iter(range(10_000))

    result = run_training(
        plan_training(_config(tmp_path, episodes=5)), should_stop=lambda: next(steps) >= 130
    )

    assert result.stopped_early and result.episodes == 2 and result.global_step == 100
    assert load(result.paths.latest)["global_step"] == 100


def test_a_run_that_fails_before_it_starts_leaves_no_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object) -> None:
        raise RuntimeError("refused")

    monkeypatch.setattr("robot6_sb3.trainer.build_model", refuse)

    with pytest.raises(RuntimeError, match="refused"):
        run_training(plan_training(_config(tmp_path, episodes=1)))

    assert list(tmp_path.iterdir()) == []


def test_threads_are_set_for_the_session(tmp_path: Path) -> None:
    before = torch.get_num_threads()
    try:
        run_training(plan_training(_config(tmp_path, episodes=1, threads=2)))
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
