"""The extension API in plain SB3 scripts (no CLI): every supported algorithm, VecEnv, observation
space, buffer and train frequency resumes bitwise, and what it cannot do is said at the start.

Each case trains one run without a stop and one that stops halfway, is rebuilt with
``load_resumable`` from its ``latest.pth`` and trains to the same step; the two runs' final
checkpoints (every network, optimizer, counter, random state and env state) and CSV logs must
be identical.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from sb3_contrib import TQC, CrossQ
from stable_baselines3 import DDPG, SAC, TD3
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv
from stable_baselines3.her.her_replay_buffer import HerReplayBuffer

import tests.point_env  # noqa: F401  (registers the point envs)
from robot6_sb3 import ResumableCheckpointCallback, load_resumable
from robot6_sb3.checkpoint import load_checkpoint
from robot6_sb3.exactness import exactness
from robot6_sb3.layout import ENV_STATE, MODEL, RNG_STATE, TRAINING_STATE
from robot6_sb3.replay_log import read_lineage
from tests.helpers import assert_same_tensors

TINY = {"net_arch": [16, 16]}


@dataclass
class Case:
    """One cell of the support matrix."""

    algo: type
    env_id: str = "PointReach-v0"
    n_envs: int = 1
    vec_env: type = DummyVecEnv
    steps: int = 240
    """Env steps (over all sub-envs) of the uninterrupted run; the other stops at half."""
    kwargs: dict[str, Any] = field(default_factory=dict)

    def make_env(self) -> Any:
        # "module:id" makes SubprocVecEnv's workers import the module that registers the env.
        env_id = f"tests.point_env:{self.env_id}"
        return make_vec_env(env_id, n_envs=self.n_envs, seed=7, vec_env_cls=self.vec_env)

    def make_model(self, env: Any) -> Any:
        policy = "MultiInputPolicy" if self.env_id == "PointGoal-v0" else "MlpPolicy"
        kwargs = {
            "learning_starts": 30,
            "batch_size": 16,
            "buffer_size": 1000,
            "seed": 3,
            **self.kwargs,
        }
        kwargs["policy_kwargs"] = {**TINY, **kwargs.get("policy_kwargs", {})}
        return self.algo(policy, env, **kwargs)


def _noise(kind: type, dims: int = 2) -> Any:
    return kind(mean=np.zeros(dims), sigma=0.2 * np.ones(dims))


CASES = {
    "sac-auto-entropy": Case(SAC),
    "sac-fixed-entropy-3-envs": Case(SAC, n_envs=3, steps=300, kwargs={"ent_coef": 0.1}),
    "tqc-5-critics-10-quantiles-subproc": Case(
        TQC,
        n_envs=2,
        vec_env=SubprocVecEnv,
        kwargs={"policy_kwargs": {"n_critics": 5, "n_quantiles": 10}},
    ),
    "td3-ou-noise-per-episode": Case(
        TD3,
        kwargs={"action_noise": _noise(OrnsteinUhlenbeckActionNoise), "train_freq": (1, "episode")},
    ),
    "ddpg-train-freq-7-not-dividing-episodes": Case(
        DDPG,
        steps=280,
        kwargs={"action_noise": _noise(NormalActionNoise), "train_freq": 7, "gradient_steps": 2},
    ),
    "crossq-4-envs": Case(CrossQ, n_envs=4, steps=320),
    "sac-8-envs": Case(SAC, n_envs=8, steps=320),
    "sac-n-step-returns": Case(SAC, kwargs={"n_steps": 3}),
    "sac-episodes-out-of-step-subproc-train-freq-3": Case(
        SAC,
        env_id="PointReachEnd-v0",
        n_envs=3,
        vec_env=SubprocVecEnv,
        steps=360,
        kwargs={"train_freq": 3},
    ),
    "sac-dict-her-2-envs": Case(
        SAC,
        env_id="PointGoal-v0",
        n_envs=2,
        kwargs={
            "replay_buffer_class": HerReplayBuffer,
            "replay_buffer_kwargs": {"n_sampled_goal": 2, "goal_selection_strategy": "future"},
        },
    ),
}


def _train(case: Case, folder: Path, steps: int) -> None:
    env = case.make_env()
    model = case.make_model(env)
    model.learn(
        steps, callback=ResumableCheckpointCallback(folder / "ck", folder / "logs", save_every=4)
    )
    env.close()


def _resume(case: Case, folder: Path, total: int) -> Any:
    env = case.make_env()
    model, callback = load_resumable(folder / "ck" / "latest.pth", env)
    model.learn(total - model.num_timesteps, callback=callback, reset_num_timesteps=False)
    env.close()
    return callback


def _comparable(path: Path) -> dict[str, Any]:
    checkpoint = load_checkpoint(path)
    training = checkpoint[TRAINING_STATE]
    for info in training["ep_info_buffer"]:
        info.pop("t")  # Monitor's wall-clock time
    return {
        key: checkpoint[key]
        for key in (
            MODEL,
            TRAINING_STATE,
            RNG_STATE,
            ENV_STATE,
            "episode",
            "global_step",
            "best_reward",
        )
    }


@pytest.mark.parametrize("name", list(CASES))
def test_a_resumed_run_is_bitwise_the_uninterrupted_one(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    _train(case, tmp_path / "whole", case.steps)
    _train(case, tmp_path / "split", case.steps // 2)
    callback = _resume(case, tmp_path / "split", case.steps)
    whole, split = tmp_path / "whole", tmp_path / "split"
    assert_same_tensors(
        _comparable(whole / "ck" / "latest.pth"), _comparable(split / "ck" / "latest.pth")
    )
    assert (whole / "logs" / "training.csv").read_bytes() == (
        split / "logs" / "training.csv"
    ).read_bytes()
    rows = (whole / "logs" / "training.csv").read_text().splitlines()
    assert len(rows) - 1 == callback.episodes > 4
    assert [int(row.split(",")[0]) for row in rows[1:]] == list(range(callback.episodes))
    checkpoint = load_checkpoint(split / "ck" / "latest.pth")
    assert exactness(checkpoint, split / "ck" / "latest.pth").exact
    replayed = read_lineage(split, checkpoint["replay"]["lineage"], 0)
    expected = read_lineage(
        whole, load_checkpoint(whole / "ck" / "latest.pth")["replay"]["lineage"], 0
    )
    assert_same_tensors(
        {k: torch.as_tensor(v) for k, v in replayed.items()},
        {k: torch.as_tensor(v) for k, v in expected.items()},
    )
