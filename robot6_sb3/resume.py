"""``load_resumable``: a model and the callback that continues its run, from any checkpoint."""

from __future__ import annotations

import dataclasses
import os
import warnings
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import gymnasium as gym
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.utils import get_device
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv

from robot6_sb3.algorithms import algo_class, check_engine, engine_change
from robot6_sb3.checkpoint import (
    Checkpoint,
    apply_checkpoint,
    check_continuation,
    load_checkpoint,
    metadata_of,
)
from robot6_sb3.devices import choose_device
from robot6_sb3.env_state import check_same_env, restore_env_state
from robot6_sb3.errors import (
    CheckpointError,
    EngineChangedWarning,
    ReplayHistoryError,
    UsageError,
)
from robot6_sb3.exactness import replay_root
from robot6_sb3.layout import ENV_STATE, REPLAY, RUN_TIME_FORMAT, run_folder_of
from robot6_sb3.model_config import build_model
from robot6_sb3.replay_log import load_buffer, replay_problem
from robot6_sb3.resumable_callback import ResumableCheckpointCallback
from robot6_sb3.resume_point import ResumePoint, continues_run, fork_root
from robot6_sb3.run_metadata import RunMetadata
from robot6_sb3.vec_env import make_env

SAVED = "saved"
"""Default of the run settings of :func:`load_resumable`: take the checkpoint's value."""

MERGED_KWARGS = ("policy_kwargs", "replay_buffer_kwargs")
"""Overrides of these dict arguments update the stored dict instead of replacing it."""


def load_resumable(
    path: str | os.PathLike[str],
    env: Any,
    device: str = "auto",
    *,
    save_path: str | os.PathLike[str] | None = None,
    log_path: str | os.PathLike[str] | str | None = SAVED,
    save_every: int | str = SAVED,
    keep_last: int | str | None = SAVED,
    replay_log: bool | str = SAVED,
    eval_every: int | str | None = SAVED,
    eval_episodes: int | str = SAVED,
    eval_env: Any = None,
    verbose: int = 1,
    labels: dict[str, Any] | None = None,
    engine: str = SAVED,
    **overrides: Any,
) -> tuple[OffPolicyAlgorithm, ResumableCheckpointCallback]:
    """Restore the model a checkpoint holds, with everything exact resume needs, and the
    callback that continues its run.

    ``model.learn(total_timesteps=..., callback=callback, reset_num_timesteps=False)`` then
    continues bitwise like the run that never stopped (on CPU, when the checkpoint says it is
    exact). Resuming a run's ``latest.pth`` in its own folder continues that run; any other
    file (``ckpt_ep_N.pth``, ``best.pth``, a copy) forks a new run beside it, leaving the
    parent untouched. Nothing is written until ``learn`` starts.

    :param path: a ``.pth`` written by :class:`ResumableCheckpointCallback` or ``robot6 train``
    :param env: the env to train on, built as for the original run (same id, number of
        sub-envs and spaces); a ``VecEnv``, or a single env (wrapped in a ``DummyVecEnv``)
    :param device: PyTorch device for the model
    :param save_path: where a fork writes its checkpoints (default: a new
        ``<algo>_YYYYMMDD-HHMMSS`` folder beside the checkpoint's run folder); must be left
        out when the run continues
    :param log_path: the run's log folder (default: where the run's logs are; for a fork, a
        folder of the fork's name beside them)
    :param save_every: as for the callback (default: the run's setting)
    :param keep_last: as for the callback (default: the run's setting)
    :param replay_log: rebuild the replay buffer from the run's log and keep logging it
        (default: the run's setting); ``False`` resumes with an empty buffer, not exactly
    :param eval_every: as for the callback (default: the run's setting)
    :param eval_episodes: as for the callback (default: the run's setting)
    :param eval_env: as for the callback
    :param verbose: the callback's verbosity
    :param labels: more labels for the run's metadata (the saved ones are kept)
    :param engine: the gradient update to train with: ``"fast"`` (:mod:`robot6_sb3.engine`,
        SAC and TQC) or ``"sb3"`` (default: the engine the checkpoint was made with, so a plain
        SB3 model resumes as one); another engine than the checkpoint's continues the run,
        but not bitwise, and says so with an :class:`~robot6_sb3.errors.EngineChangedWarning`
    :param overrides: constructor arguments of the model to change (e.g.
        ``learning_rate=1e-4``), or to give where the checkpoint could not store a value
        (a learning-rate schedule, a custom class)
    :raises CheckpointError: for a missing, damaged or unusable file, or a replay history
        that is not on disk
    :raises IncompatibleCheckpointError: when ``env`` or ``overrides`` do not fit the saved
        model
    :raises ConfigError: (field ``engine``) for an engine that does not compute the checkpoint's algorithm
    """
    path = Path(path)
    checkpoint = load_checkpoint(path)
    metadata = RunMetadata.from_dict(checkpoint["metadata"], str(path))
    engine = metadata.engine if engine == SAVED else engine
    check_engine(metadata.algo, engine)
    venv = env if isinstance(env, VecEnv) else DummyVecEnv([lambda: env])
    check_same_env(_saved_env(metadata), venv)
    given = {
        "save_every": save_every,
        "keep_last": keep_last,
        "replay_log": replay_log,
        "eval_every": eval_every,
        "eval_episodes": eval_episodes,
    }
    settings = dataclasses.replace(
        metadata.settings, **{name: value for name, value in given.items() if value != SAVED}
    )
    use_replay = settings.replay_log
    continues = continues_run(path, metadata)
    if continues and save_path is not None and Path(save_path).resolve() != path.parent.resolve():
        raise CheckpointError(
            f"{path} continues its own run in {path.parent}; save_path is only for forks "
            "(resume another file, e.g. a ckpt_ep_N.pth, to fork)"
        )
    replay = checkpoint.get(REPLAY)
    root = replay_root(checkpoint, path)
    if use_replay and replay is not None:
        problem = replay_problem(root, replay["lineage"], _buffer_size(metadata, overrides, venv))
        if problem:
            raise ReplayHistoryError(f"{path}: {problem}")
    model = build_model(
        algo_class(metadata.algo, engine),
        {"policy": metadata.policy, "kwargs": metadata.model_kwargs},
        venv,
        str(get_device(device)),
        _merged(metadata.model_kwargs, overrides),
    )
    apply_checkpoint(model, checkpoint)
    check_continuation(model, checkpoint)
    model.seed = metadata.seed  # recorded, not re-applied: the generators are restored instead
    if engine != metadata.engine:
        warnings.warn(
            f"engine {engine_change(metadata.engine, engine)}", EngineChangedWarning, stacklevel=2
        )
    if use_replay and replay is not None:
        load_buffer(model.replay_buffer, root, [dict(source) for source in replay["lineage"]])
    if checkpoint.get(ENV_STATE) is not None and venv.has_attr("set_state"):
        restore_env_state(venv, checkpoint[ENV_STATE])
    else:
        model._last_obs = venv.reset()
    resume = ResumePoint(checkpoint, path, continues, use_replay=use_replay and replay is not None)
    if continues:
        run_folder = run_folder_of(path)
    else:
        run_folder = Path(
            save_path or _fork_folder(fork_root(path) or run_folder_of(path), metadata.algo)
        )
    callback = ResumableCheckpointCallback(
        run_folder,
        _log_path(log_path, resume, run_folder),
        **{**settings.options(), "replay_log": use_replay},
        eval_env=eval_env,
        verbose=verbose,
        labels=labels,
    )
    callback._continue_from(resume)
    return model, callback


def _saved_env(metadata: RunMetadata) -> dict[str, Any]:
    return {
        "env_id": metadata.env_id,
        "n_envs": metadata.n_envs,
        "obs_dim": metadata.obs_dim,
        "act_dim": metadata.act_dim,
        "observation_space": metadata.observation_space or None,
        "action_space": metadata.action_space or None,
    }


def _merged(saved: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = dict(overrides)
    for name in MERGED_KWARGS:
        if isinstance(overrides.get(name), dict) and isinstance(saved.get(name), dict):
            merged[name] = {**saved[name], **overrides[name]}
    return merged


def _buffer_size(metadata: RunMetadata, overrides: dict[str, Any], venv: VecEnv) -> int:
    """Rows the rebuilt buffer holds (SB3 divides ``buffer_size`` among the sub-envs)."""
    size = overrides.get("buffer_size", metadata.buffer_size)
    return max(int(size) // venv.num_envs, 1)


def _fork_folder(root: Path, algo: str) -> Path:
    """A new ``<algo>_YYYYMMDD-HHMMSS`` folder name in ``root`` that no run has yet."""
    stamp = datetime.now().replace(microsecond=0)
    while (root / f"{algo}_{stamp.strftime(RUN_TIME_FORMAT)}").exists():
        stamp += timedelta(seconds=1)
    return root / f"{algo}_{stamp.strftime(RUN_TIME_FORMAT)}"


def _log_path(given: Any, resume: ResumePoint, run_folder: Path) -> Path | None:
    if given != SAVED:
        return None if given is None else Path(given)
    logs = resume.log_dir()
    if resume.continues:
        return logs if logs is not None else _default_log_path(resume, run_folder)
    if logs is None or logs == resume.source.parent.resolve():
        return None  # the parent kept its logs beside its checkpoints; so does the fork
    return logs.parent / run_folder.name


def _default_log_path(resume: ResumePoint, run_folder: Path) -> Path | None:
    """Where a continued run's logs go when its log folder is gone: where it said they were."""
    saved = resume.metadata.settings.log_dir
    return None if saved is None else (run_folder / saved).resolve()


def model_from_checkpoint(checkpoint: Checkpoint, device: str = "cpu") -> OffPolicyAlgorithm:
    """A model with the checkpoint's networks, for evaluation or export (not for resuming: its
    replay buffer is minimal and its env is a fresh one). It is SB3's own class whatever
    engine trained the checkpoint: neither evaluating nor exporting trains.

    :raises UsageError: when the checkpoint's algorithm or env is unknown here, or the
        model cannot be rebuilt from it
    """
    metadata = metadata_of(checkpoint)
    if metadata.env_id is None or metadata.env_id not in gym.registry:
        raise UsageError(
            f"the checkpoint's env {metadata.env_id!r} is not a registered Gymnasium env here"
        )
    env = make_env(metadata.env_id, metadata.env_kwargs)
    description = {"policy": metadata.policy, "kwargs": metadata.model_kwargs}
    # Only the networks matter here: a buffer of one episode instead of the run's million.
    small = {"buffer_size": 1_000, "learning_starts": 0}
    model = build_model(algo_class(metadata.algo), description, env, choose_device(device), small)
    apply_checkpoint(model, checkpoint)
    model.buffer_size = int(metadata.model_kwargs.get("buffer_size", model.buffer_size))
    return model
