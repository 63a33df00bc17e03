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

import gymnasium as gym
import numpy as np
import pytest
import torch
from sb3_contrib import TQC, CrossQ
from stable_baselines3 import DDPG, PPO, SAC, TD3
from stable_baselines3.common.callbacks import StopTrainingOnMaxEpisodes
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecNormalize
from stable_baselines3.her.her_replay_buffer import HerReplayBuffer

import tests.point_env  # noqa: F401  (registers the point envs)
from robot6_sb3 import InexactResumeWarning, ResumableCheckpointCallback, load_resumable
from robot6_sb3.checkpoint import load_checkpoint
from robot6_sb3.engine import FastSAC, FastTQC
from robot6_sb3.errors import TrainingDivergedError, UnsupportedSetupError, UsageError
from robot6_sb3.exactness import exactness
from robot6_sb3.layout import ENV_STATE, MODEL, RNG_STATE, TRAINING_STATE
from robot6_sb3.replay_log import read_lineage
from robot6_sb3.stopping import StopTrainingOnRequest
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
    callback: dict[str, Any] = field(default_factory=dict)
    """Arguments of the callback besides the folders (``save_every=4`` always)."""

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
    "fast-sac-auto-entropy": Case(FastSAC),
    "fast-tqc-3-critics-2-envs": Case(
        FastTQC, n_envs=2, kwargs={"policy_kwargs": {"n_critics": 3, "n_quantiles": 10}}
    ),
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
    "sac-with-periodic-evaluations": Case(SAC, callback={"eval_every": 3, "eval_episodes": 2}),
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
    callback = ResumableCheckpointCallback(
        folder / "ck", folder / "logs", save_every=4, **case.callback
    )
    model.learn(steps, callback=callback)
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
    # SB3 measures it against each learn() call's own total, so it differs between a run
    # learned in one call and one in two until the end; constant learning rates ignore it.
    training.pop("current_progress_remaining")
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
    for log in ("training.csv", "evaluations.csv"):
        if (whole / "logs" / log).exists() or (split / "logs" / log).exists():
            assert (whole / "logs" / log).read_bytes() == (split / "logs" / log).read_bytes()
    if case.callback.get("eval_every"):
        evaluations = (split / "logs" / "evaluations.csv").read_text().splitlines()
        episodes = case.steps // 10  # ten steps an episode, one env
        assert len(evaluations) - 1 == episodes // case.callback["eval_every"]
        assert_same_tensors(
            _comparable(whole / "ck" / "best_eval.pth"), _comparable(split / "ck" / "best_eval.pth")
        )
    rows = (whole / "logs" / "training.csv").read_text().splitlines()
    assert len(rows) - 1 == callback.episodes_completed > 4
    assert [int(row.split(",")[0]) for row in rows[1:]] == list(range(callback.episodes_completed))
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


def _point_model(env: Any, algo: type = SAC, **kwargs: Any) -> Any:
    return Case(algo, kwargs=kwargs).make_model(env)


def _point_env(n_envs: int = 1, env_id: str = "PointReach-v0") -> Any:
    return Case(SAC, env_id=env_id, n_envs=n_envs).make_env()


@pytest.mark.parametrize("stopper", ["StopTrainingOnMaxEpisodes", "signal-on-last-step"])
def test_a_stop_on_an_episodes_last_step_saves_only_what_the_buffer_holds(
    stopper: str, tmp_path: Path
) -> None:
    _train(Case(SAC), tmp_path / "whole", 60)
    env = _point_env()
    model = _point_model(env)
    callback = ResumableCheckpointCallback(tmp_path / "split" / "ck", tmp_path / "split" / "logs")
    if stopper == "StopTrainingOnMaxEpisodes":
        stop: Any = StopTrainingOnMaxEpisodes(max_episodes=3)
    else:
        stop = StopTrainingOnRequest(lambda: model.num_timesteps == 30)  # Ctrl-C at step 30
    model.learn(1_000, callback=[callback, stop])

    latest = load_checkpoint(tmp_path / "split" / "ck" / "latest.pth")
    rows = (tmp_path / "split" / "logs" / "training.csv").read_text().splitlines()
    assert (latest["episode"], latest["global_step"], len(rows) - 1) == (2, 20, 2)
    assert latest["replay"]["lineage"][-1]["stop"] == 20, "no row the buffer never got"
    _resume(Case(SAC), tmp_path / "split", 60)
    assert_same_tensors(
        _comparable(tmp_path / "whole" / "ck" / "latest.pth"),
        _comparable(tmp_path / "split" / "ck" / "latest.pth"),
    )
    assert (tmp_path / "whole" / "logs" / "training.csv").read_bytes() == (
        tmp_path / "split" / "logs" / "training.csv"
    ).read_bytes()


def test_an_env_without_the_state_protocol_is_saved_but_never_called_exact(tmp_path: Path) -> None:
    env = _point_env(env_id="PointReachNoState-v0")
    with pytest.warns(InexactResumeWarning, match="no get_state"):
        _point_model(env).learn(40, callback=ResumableCheckpointCallback(tmp_path / "run"))
    path = tmp_path / "run" / "latest.pth"
    checkpoint = load_checkpoint(path)
    assert checkpoint["metadata"]["exact"] is False
    assert checkpoint["env_state"] is None
    verdict = exactness(checkpoint, path)
    assert not verdict.exact and "get_state" in verdict.reason

    model, callback = load_resumable(path, _point_env(env_id="PointReachNoState-v0"), verbose=0)
    model.learn(20, callback=callback, reset_num_timesteps=False)
    assert load_checkpoint(path)["episode"] == 6


def _refused_at_start(tmp_path: Path, model: Any, phrase: str, **kwargs: Any) -> None:
    folder = tmp_path / "never"
    with pytest.raises(UnsupportedSetupError, match=phrase):
        model.learn(40, callback=ResumableCheckpointCallback(folder, **kwargs))
    assert not folder.exists(), "nothing is written for a refused setup"


def test_unsupported_setups_are_refused_before_any_file_is_written(tmp_path: Path) -> None:
    _refused_at_start(tmp_path, PPO("MlpPolicy", _point_env(), n_steps=16), "on-policy")
    bare = DummyVecEnv([lambda: gym.make("tests.point_env:PointReach-v0")])
    _refused_at_start(tmp_path, _point_model(bare), "Monitor")
    _refused_at_start(tmp_path, _point_model(VecNormalize(_point_env())), "VecNormalize")
    memory_saving = _point_model(
        _point_env(),
        optimize_memory_usage=True,
        replay_buffer_kwargs={"handle_timeout_termination": False},
    )
    _refused_at_start(tmp_path, memory_saving, "optimize_memory_usage")
    _refused_at_start(tmp_path, _point_model(_point_env(), use_sde=True), "gSDE")
    arrays = _point_model(_point_env(env_id="PointReachArrayState-v0"))
    _refused_at_start(tmp_path, arrays, r"get_state\(\)\['position'\] is a numpy.ndarray")
    her = Case(SAC, env_id="PointGoal-v0").make_model(_point_env(env_id="PointGoal-v0"))
    her_with_infos = Case(
        SAC,
        env_id="PointGoal-v0",
        kwargs={
            "replay_buffer_class": HerReplayBuffer,
            "replay_buffer_kwargs": {"copy_info_dict": True},
        },
    ).make_model(_point_env(env_id="PointGoal-v0"))
    _refused_at_start(tmp_path, her_with_infos, "copy_info_dict")
    her.learn(40, callback=ResumableCheckpointCallback(tmp_path / "no-log", replay_log=False))
    assert (tmp_path / "no-log" / "latest.pth").exists(), "without the log the same buffer works"


def test_a_folder_holding_another_run_is_never_written_into(tmp_path: Path) -> None:
    _point_model(_point_env()).learn(20, callback=ResumableCheckpointCallback(tmp_path / "run"))
    before = {path: path.read_bytes() for path in (tmp_path / "run").rglob("*") if path.is_file()}

    with pytest.raises(UsageError, match=r"belongs to run run \(id [0-9a-f]+\), not to run run"):
        _point_model(_point_env()).learn(20, callback=ResumableCheckpointCallback(tmp_path / "run"))

    after = {path: path.read_bytes() for path in (tmp_path / "run").rglob("*") if path.is_file()}
    assert after == before


def test_learn_with_reset_counters_after_load_resumable_is_refused(tmp_path: Path) -> None:
    _point_model(_point_env()).learn(20, callback=ResumableCheckpointCallback(tmp_path / "run"))
    model, callback = load_resumable(tmp_path / "run" / "latest.pth", _point_env())

    with pytest.raises(ValueError, match="reset_num_timesteps=False"):
        model.learn(20, callback=callback)


def test_a_fork_writes_beside_its_parent_and_leaves_it_untouched(tmp_path: Path) -> None:
    _point_model(_point_env()).learn(
        60, callback=ResumableCheckpointCallback(tmp_path / "parent", save_every=2)
    )
    before = {
        path: path.read_bytes() for path in (tmp_path / "parent").rglob("*") if path.is_file()
    }

    model, callback = load_resumable(tmp_path / "parent" / "ckpt_ep_2.pth", _point_env())
    model.learn(20, callback=callback, reset_num_timesteps=False)

    after = {path: path.read_bytes() for path in (tmp_path / "parent").rglob("*") if path.is_file()}
    assert after == before
    assert callback.save_path.parent == tmp_path and callback.save_path.name.startswith("sac_")
    fork = load_checkpoint(callback.save_path / "latest.pth")
    assert fork["metadata"]["parent"]["run"] == "parent" and fork["episode"] == 4
    rows = (callback.save_path / "training.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == ["0", "1", "2", "3"]


def test_a_scripts_checkpoints_work_with_every_robot6_command(robot6, workdir: Path) -> None:
    env = make_vec_env("tests.point_env:PointReach-v0", n_envs=2, seed=1)
    model = Case(TQC, kwargs={"policy_kwargs": {"n_critics": 3, "n_quantiles": 10}}).make_model(env)
    model.learn(100, callback=ResumableCheckpointCallback("checkpoints/mine", "runs/mine"))
    latest = "checkpoints/mine/latest.pth"

    inspected = robot6("inspect", latest, "--json")
    evaluated = robot6("eval", latest, "--episodes", "3", "--json")
    exported = robot6("export", latest, "mine.zip")
    resumed = robot6("train", "--resume-ckpt", latest, "--episodes", "14", "--no-progress")

    for result in (inspected, evaluated, exported, resumed):
        assert result.exit_code == 0, result.output
    assert '"algo": "tqc"' in inspected.stdout and '"exact": true' in inspected.stdout
    assert "identical to the checkpoint's" in exported.stdout
    assert "continuing this run" in resumed.stdout
    assert load_checkpoint(workdir / latest)["episode"] == 14
    rows = (workdir / "runs" / "mine" / "training.csv").read_text().splitlines()
    assert [int(row.split(",")[0]) for row in rows[1:]] == list(range(14))


def test_a_model_trained_before_the_callback_came_logs_its_buffer_oldest_first(
    tmp_path: Path,
) -> None:
    model = _point_model(_point_env(), buffer_size=45, learning_starts=20)
    model.learn(67)  # no callback yet: the buffer has wrapped, its oldest row is at index 22
    model.learn(
        13, callback=ResumableCheckpointCallback(tmp_path / "run"), reset_num_timesteps=False
    )

    resumed, _ = load_resumable(tmp_path / "run" / "latest.pth", _point_env())

    for name in ("observations", "next_observations", "actions", "rewards", "dones", "timeouts"):
        assert np.array_equal(
            getattr(model.replay_buffer, name), getattr(resumed.replay_buffer, name)
        ), name
    assert (resumed.replay_buffer.pos, resumed.replay_buffer.full) == (80 % 45, True)


def test_a_script_whose_training_diverges_gets_the_error_and_finite_files(tmp_path: Path) -> None:
    model = _point_model(_point_env(), learning_rate=1e12, learning_starts=15)
    callback = ResumableCheckpointCallback(tmp_path / "run")

    with pytest.raises(TrainingDivergedError, match="NaN or infinite values in actor") as caught:
        model.learn(200, callback=callback)

    assert caught.value.checkpoint == tmp_path / "run" / "latest.pth"
    latest = load_checkpoint(tmp_path / "run" / "latest.pth")  # every tensor finite
    rows = (tmp_path / "run" / "training.csv").read_text().splitlines()[1:]
    assert len(rows) == latest["episode"] >= 1
    assert not callback._files.locked, "the run's lock is released"
