"""The trainer: builds the env, the SAC/TQC model and the callbacks, and runs ``learn``.

:func:`run_training` takes a :class:`~robot6_sb3.planning.TrainingPlan` (checked, nothing
written yet), creates or continues the run and trains until it has its episodes or is asked
to stop.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.logger import Logger, TensorBoardOutputFormat
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.vec_env import DummyVecEnv
from tensorboard.compat.proto.event_pb2 import Event, SessionLog

from robot6_sb3.atomic import remove_temp_files
from robot6_sb3.background_writer import BackgroundWriter
from robot6_sb3.callbacks import (
    CSVLoggerCallback,
    EpisodeCheckpointCallback,
    StopTrainingOnRequest,
    TensorBoardEpisodeCallback,
)
from robot6_sb3.checkpoint import Checkpoint, apply_checkpoint, package_versions
from robot6_sb3.errors import (
    CheckpointError,
    CheckpointWriteError,
    IncompatibleCheckpointError,
    UsageError,
)
from robot6_sb3.hyperparameters import Hyperparameters
from robot6_sb3.layout import (
    BEST_REWARD,
    CSV_NAME,
    ENV_STATE,
    FORMAT_VERSION,
    GLOBAL_STEP,
    METADATA,
    REPLAY,
    RNG_STATE,
    WALL_TIME,
    RunPaths,
    create_run,
    periodic_episode,
)
from robot6_sb3.planning import (
    ALGORITHMS,
    TrainingPlan,
    checkpoints_root,
    choose_device,
    flat_dim,
    max_episode_steps,
)
from robot6_sb3.pruning import keep_last_periodic
from robot6_sb3.replay_log import ReplayLog, lineage_size, load_buffer
from robot6_sb3.rng import restore_rng
from robot6_sb3.run_lock import RunLock
from robot6_sb3.training_csv import write_rows_before


@dataclass(frozen=True)
class TrainingResult:
    """Where a training session left its run."""

    paths: RunPaths
    episodes: int
    """Episodes the run has saved (an unfinished episode after a stop is not counted)."""
    global_step: int
    """``global_step`` of the newest checkpoint."""
    best_reward: float
    stopped_early: bool
    """True when ``should_stop`` ended training before the episode count was reached."""
    model: OffPolicyAlgorithm
    """The trained model (its env is closed)."""


def _space_metadata(space: spaces.Space) -> dict[str, Any]:
    description: dict[str, Any] = {"type": type(space).__name__, "shape": list(space.shape or ())}
    if isinstance(space, spaces.Box):
        description.update(
            dtype=str(space.dtype),
            low=np.asarray(space.low, dtype=np.float64).ravel().tolist(),
            high=np.asarray(space.high, dtype=np.float64).ravel().tolist(),
        )
    return description


def run_metadata(plan: TrainingPlan, paths: RunPaths, env: gym.Env, device: str) -> dict[str, Any]:
    """What every checkpoint of this run records about it."""
    parent = None
    if plan.checkpoint is not None and not plan.continues_run:
        parent = {
            "run": plan.checkpoint[METADATA]["run_name"],
            "checkpoint": str(plan.source),
            "episode": plan.start_episode,
        }
    elif plan.checkpoint is not None:
        parent = plan.checkpoint[METADATA].get("parent")
    saved = plan.checkpoint[METADATA] if plan.checkpoint is not None else {}
    return {
        "format_version": FORMAT_VERSION,
        "algo": plan.algo,
        "env_id": plan.env_id,
        "env_kwargs": plan.env_kwargs,
        "obs_dim": flat_dim(env.observation_space),
        "act_dim": flat_dim(env.action_space),
        "observation_space": _space_metadata(env.observation_space),
        "action_space": _space_metadata(env.action_space),
        "hyperparameters": plan.hyperparameters.to_dict(),
        "net_arch": list(plan.hyperparameters.net_arch),
        "seed": plan.seed,
        "device": device,
        "save_every": plan.request.save_every,
        "replay_log": plan.request.replay_log,
        "run_name": paths.name,
        "parent": parent,
        # Labels survive resumes and forks; the request's own ones win.
        "labels": {**saved.get("labels", {}), **plan.request.labels},
        "versions": package_versions(),
        "created": datetime.now().isoformat(timespec="seconds"),
    }


def make_env(env_id: str, env_kwargs: dict[str, Any]) -> DummyVecEnv:
    """The training env: one ``Monitor``-wrapped env in a ``DummyVecEnv``."""
    return DummyVecEnv([lambda: Monitor(gym.make(env_id, **env_kwargs))])


def build_model(plan: TrainingPlan, env: DummyVecEnv, device: str) -> OffPolicyAlgorithm:
    """A fresh SAC/TQC model for ``plan`` (weights are replaced on resume)."""
    return ALGORITHMS[plan.algo](
        "MlpPolicy",
        env,
        seed=plan.seed,
        device=device,
        verbose=0,
        **plan.hyperparameters.sb3_kwargs(),
    )


def model_from_checkpoint(checkpoint: Checkpoint, device: str = "cpu") -> OffPolicyAlgorithm:
    """A SAC/TQC model with the checkpoint's weights, for evaluation or export (not for
    resuming: its replay buffer is minimal and its env is a fresh one)."""
    metadata = checkpoint[METADATA]
    if metadata["algo"] not in ALGORITHMS:
        raise IncompatibleCheckpointError(f"the checkpoint's algo {metadata['algo']!r} is unknown")
    if metadata["env_id"] not in gym.registry:
        raise IncompatibleCheckpointError(
            f"the checkpoint's env {metadata['env_id']!r} is not a registered env"
        )
    env_id = metadata["env_id"]
    try:
        saved = Hyperparameters.from_dict(metadata["hyperparameters"])
    except ValueError as exc:
        raise CheckpointError(f"the checkpoint's hyperparameters are invalid ({exc})") from None
    hyperparameters = saved.replace(buffer_size=max_episode_steps(env_id))
    env = make_env(env_id, metadata["env_kwargs"])
    model = ALGORITHMS[metadata["algo"]](
        "MlpPolicy", env, device=choose_device(device), verbose=0, **hyperparameters.sb3_kwargs()
    )
    apply_checkpoint(model, checkpoint)
    return model


def _tensorboard_logger(log_dir: Path, resumed_step: int | None) -> Logger:
    """SB3's logger writing TensorBoard events directly into ``log_dir`` (no ``SAC_1``).

    :param resumed_step: the checkpoint's global_step when resuming a run: TensorBoard then
        hides the earlier sessions' events after it (written before a crash or stop, but not
        covered by the checkpoint), so no step appears twice or goes backwards
    """
    output = TensorBoardOutputFormat(str(log_dir))
    if resumed_step is not None:
        output.writer.file_writer.add_event(
            Event(step=resumed_step + 1, session_log=SessionLog(status=SessionLog.START))
        )
    return Logger(folder=str(log_dir), output_formats=[output])


def _prepare_run_folders(plan: TrainingPlan) -> RunPaths:
    request = plan.request
    root = checkpoints_root(plan)
    if plan.continues_run:
        assert plan.source is not None
        paths = RunPaths.of(plan.source.resolve().parent.name, root, request.runs_dir)
        paths.log_dir.mkdir(parents=True, exist_ok=True)
        return paths
    return create_run(plan.algo, root, request.runs_dir, datetime.now())


def _restore_from_checkpoint(
    plan: TrainingPlan, model: OffPolicyAlgorithm, env: DummyVecEnv, paths: RunPaths
) -> list[dict[str, Any]]:
    """Put ``model`` and ``env`` in the checkpoint's state; returns the replay lineage."""
    checkpoint = plan.checkpoint
    assert checkpoint is not None and plan.source is not None
    apply_checkpoint(model, checkpoint)
    replay = checkpoint.get(REPLAY)
    lineage: list[dict[str, Any]] = []
    if replay is not None and plan.request.replay_log:
        lineage = [dict(source) for source in replay["lineage"]]
        root = checkpoints_root(plan)
        load_buffer(model.replay_buffer, root, lineage)
        if plan.continues_run:
            ReplayLog(root, paths.name).drop_after(lineage_size(lineage))
    env.reset()
    if ENV_STATE in checkpoint:
        env.envs[0].unwrapped.set_state(checkpoint[ENV_STATE])
    else:
        model._last_obs = env.reset()
    if RNG_STATE in checkpoint:
        restore_rng(model.action_space, checkpoint[RNG_STATE])
    return lineage


def run_training(
    plan: TrainingPlan,
    should_stop: Callable[[], bool] = lambda: False,
    progress_bar: bool = False,
    callbacks: list[BaseCallback] | None = None,
) -> TrainingResult:
    """Train until the run has ``plan.request.episodes`` episodes or ``should_stop()``.

    :param plan: from :func:`plan_training`
    :param should_stop: polled every env step; true ends training cleanly (the unfinished
        episode is discarded, every file stays consistent with ``latest.pth``)
    :param progress_bar: show SB3's progress bar
    :param callbacks: further SB3 callbacks, run after the run's own ones

    :raises CheckpointWriteError: when a file cannot be written (disk full, read-only, ...)
    :raises RunLockedError: when another process is writing the run
    """
    request = plan.request
    device = choose_device(request.device)
    start_episode = plan.start_episode
    if start_episode >= request.episodes:
        raise UsageError(
            f"the checkpoint already has {start_episode} episodes and --episodes is "
            f"{request.episodes}; pass --episodes N with N > {start_episode} to train further"
        )
    torch.set_num_threads(request.threads)
    try:
        paths = _prepare_run_folders(plan)
        with RunLock(paths.lock):
            for folder in (paths.checkpoint_dir, paths.replay_dir, paths.log_dir):
                if folder.is_dir():
                    remove_temp_files(folder)  # what a crash mid-write left behind
            env = make_env(plan.env_id, plan.env_kwargs)
            try:
                return _train_in_run(
                    plan, paths, env, device, should_stop, progress_bar, callbacks or []
                )
            finally:
                env.close()
    except OSError as exc:
        # Files the run writes through other libraries (TensorBoard, folders, the lock).
        raise CheckpointWriteError(
            f"could not write {exc.filename or 'the run files'}: {exc.strerror or exc}"
        ) from exc


def _keep_last_hook(run_dir: Path, keep_last: int | None) -> Callable[[Path], None] | None:
    """The ``on_save`` hook of ``--keep-last``: after a ``ckpt_ep_N.pth`` is written, delete
    all but the newest ``keep_last`` of them (never latest.pth or best.pth)."""
    if keep_last is None:
        return None

    def prune_after_save(path: Path) -> None:
        if periodic_episode(path.name) is not None:
            keep_last_periodic(run_dir, keep_last)

    return prune_after_save


def _train_in_run(
    plan: TrainingPlan,
    paths: RunPaths,
    env: DummyVecEnv,
    device: str,
    should_stop: Callable[[], bool],
    progress_bar: bool,
    extra_callbacks: list[BaseCallback],
) -> TrainingResult:
    request = plan.request
    checkpoint = plan.checkpoint
    start_episode = plan.start_episode
    model = build_model(plan, env, device)
    lineage: list[dict[str, Any]] = []
    best_reward = -math.inf
    if checkpoint is not None:
        source_csv = Path(request.runs_dir) / checkpoint[METADATA]["run_name"] / CSV_NAME
        write_rows_before(source_csv, paths.csv, start_episode)
        best_reward = float(checkpoint[BEST_REWARD])
        lineage = _restore_from_checkpoint(plan, model, env, paths)
    model.set_logger(
        _tensorboard_logger(paths.log_dir, int(checkpoint[GLOBAL_STEP]) if checkpoint else None)
    )
    replay_log = ReplayLog(checkpoints_root(plan), paths.name) if request.replay_log else None
    writer = BackgroundWriter()
    stopper = StopTrainingOnRequest(should_stop)
    saver = EpisodeCheckpointCallback(
        paths.checkpoint_dir,
        save_freq=request.save_every,
        metadata=run_metadata(plan, paths, env.envs[0], device),
        best_reward=best_reward,
        start_episode=start_episode,
        replay_log=replay_log,
        lineage=lineage,
        wall_time_offset=float(checkpoint.get(WALL_TIME, 0.0)) if checkpoint else 0.0,
        on_save=_keep_last_hook(paths.checkpoint_dir, request.keep_last),
        writer=writer,
    )
    callbacks = CallbackList(
        [
            stopper,
            CSVLoggerCallback(paths.csv, start_episode=start_episode, writer=writer),
            TensorBoardEpisodeCallback(start_episode=start_episode),
            saver,
            *extra_callbacks,
        ]
    )
    start_step = int(model.num_timesteps)
    remaining = (request.episodes - start_episode) * plan.max_episode_steps
    try:
        model.learn(
            total_timesteps=remaining,
            callback=callbacks,
            log_interval=1,
            reset_num_timesteps=checkpoint is None,
            progress_bar=progress_bar,
        )
    finally:
        writer.close()
        model.logger.close()
    return TrainingResult(
        paths=paths,
        episodes=saver.last_saved_episode,
        global_step=saver.last_saved_step if saver.last_saved_step is not None else start_step,
        best_reward=saver.best_reward,
        stopped_early=stopper.stopped,
        model=model,
    )
