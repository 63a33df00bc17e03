"""The trainer of ``robot6 train``: builds the env and the model (or restores them with
:func:`~robot6_sb3.load_resumable`), attaches :class:`~robot6_sb3.ResumableCheckpointCallback`
and runs ``learn``. It is the same extension API a user's own SB3 script uses.

:func:`run_training` takes a :class:`~robot6_sb3.planning.TrainingPlan` (the
:class:`~robot6_sb3.training_config.TrainConfig` checked, nothing written yet) and trains
until the run has its episodes or is asked to stop.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import torch
from gymnasium import spaces
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.vec_env import VecEnv

from robot6_sb3.algorithms import algo_class
from robot6_sb3.config_fields import ConfigError
from robot6_sb3.devices import choose_device
from robot6_sb3.engine import describe_engine
from robot6_sb3.errors import CheckpointWriteError, EngineChangedWarning, TrainingDivergedError
from robot6_sb3.layout import RunPaths, create_run, remove_empty_run, run_folder_of
from robot6_sb3.model_state import capture_networks, non_finite_parts
from robot6_sb3.planning import TrainingPlan, checkpoints_root
from robot6_sb3.progress import EpisodeProgress
from robot6_sb3.resumable_callback import ResumableCheckpointCallback
from robot6_sb3.resume import load_resumable
from robot6_sb3.run_metadata import RunMetadata
from robot6_sb3.stopping import StopTrainingOnRequest
from robot6_sb3.vec_env import make_env


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


def build_model(plan: TrainingPlan, env: VecEnv, device: str) -> OffPolicyAlgorithm:
    """A fresh model for a new run of ``plan``."""
    policy = "MultiInputPolicy" if isinstance(env.observation_space, spaces.Dict) else "MlpPolicy"
    kwargs = plan.hyperparameters.sb3_kwargs(plan.algo, env)
    cls = algo_class(plan.algo, plan.engine)
    return cls(policy, env, seed=plan.seed, device=device, verbose=0, **kwargs)


def _rounds(plan: TrainingPlan, n_envs: int) -> int:
    """Episodes still to train per sub-env: the robot6 envs' episodes all have the same
    length, so the sub-envs finish theirs together, ``n_envs`` at a time."""
    return math.ceil((plan.config.episodes - plan.start_episode) / n_envs)


def _total_timesteps(plan: TrainingPlan, n_envs: int) -> int:
    return _rounds(plan, n_envs) * plan.max_episode_steps * n_envs


def _final_episodes(plan: TrainingPlan, n_envs: int) -> int:
    """The run's episode count when this session ends (at least ``config.episodes``)."""
    return plan.start_episode + _rounds(plan, n_envs) * n_envs


def _run_paths(plan: TrainingPlan) -> RunPaths:
    """The folders the run writes: the resumed run's own, or a new run's, created here with a
    name no other run has (two runs started in the same second get different names)."""
    root, runs_dir = checkpoints_root(plan), plan.config.runs_dir
    if plan.continues_run:
        assert plan.source is not None
        folder = run_folder_of(plan.source)
        return RunPaths(folder.name, folder, plan.log_dir or runs_dir / folder.name)
    return create_run(plan.algo, root, runs_dir, datetime.now())


@dataclass(frozen=True)
class TrainingStart:
    """What a training session is about to do, known once its run is set up."""

    paths: RunPaths
    metadata: RunMetadata
    """The run: algorithm, env, seed, device, exactness, parent."""
    plan: TrainingPlan
    engine: str
    """Which gradient update trains, as :func:`robot6_sb3.engine.describe_engine` says it."""


class _OnStart(BaseCallback):
    """Hands the :class:`TrainingStart` out when ``learn`` has set everything up."""

    def __init__(
        self,
        saver: ResumableCheckpointCallback,
        report: Callable[[TrainingStart], None],
        plan: TrainingPlan,
        paths: RunPaths,
    ) -> None:
        super().__init__()
        self._saver, self._report, self._plan, self._paths = saver, report, plan, paths

    def _on_training_start(self) -> None:
        assert self._saver.metadata is not None
        engine = describe_engine(self.model)
        self._report(TrainingStart(self._paths, self._saver.metadata, self._plan, engine))

    def _on_step(self) -> bool:
        return True


def run_training(
    plan: TrainingPlan,
    should_stop: Callable[[], bool] = lambda: False,
    progress_bar: bool = False,
    callbacks: list[BaseCallback] | None = None,
    on_start: Callable[[TrainingStart], None] | None = None,
) -> TrainingResult:
    """Train until the run has ``plan.config.episodes`` episodes or ``should_stop()``.

    :param plan: from :func:`~robot6_sb3.planning.plan_training`
    :param should_stop: polled every env step; true ends training cleanly (the unfinished
        episode is discarded, every file stays consistent with ``latest.pth``)
    :param progress_bar: show a progress bar of episodes (:mod:`robot6_sb3.progress`)
    :param callbacks: further SB3 callbacks, run after the run's own ones
    :param on_start: called once the run is set up, before the first step (for a header)

    :raises CheckpointWriteError: when a file cannot be written (disk full, read-only, ...)
    :raises RunLockedError: when another process is writing the run
    """
    config = plan.config
    device = choose_device(config.device)
    if plan.start_episode >= config.episodes:
        raise ConfigError(
            "episodes",
            f"is {config.episodes}, but the checkpoint already has {plan.start_episode}; "
            f"ask for more than {plan.start_episode} to train further",
        )
    torch.set_num_threads(config.threads)
    env = make_env(plan.env_id, plan.env_kwargs, plan.n_envs, plan.vec_env)
    saver: ResumableCheckpointCallback | None = None
    paths: RunPaths | None = None
    roots = (checkpoints_root(plan), Path(config.runs_dir))
    new_roots = [folder for folder in roots if not folder.exists()]
    try:
        paths = _run_paths(plan)
        if plan.source is None:
            model = build_model(plan, env, device)
            saver = ResumableCheckpointCallback(
                paths.checkpoint_dir,
                paths.log_dir,
                **plan.settings.options(),
                verbose=0,
                labels=config.labels,
            )
        else:
            with warnings.catch_warnings():
                # The plan's notices already say so.
                warnings.simplefilter("ignore", EngineChangedWarning)
                model, saver = load_resumable(
                    plan.source,
                    env,
                    device,
                    save_path=None if plan.continues_run else paths.checkpoint_dir,
                    log_path=paths.log_dir,
                    verbose=0,
                    labels=config.labels,
                    engine=plan.engine,
                    **config.given_settings(),
                    **plan.model_overrides(env),
                )
        # No SB3 output of its own: the callback writes TensorBoard into the run's log folder.
        model.set_logger(Logger(folder=str(paths.log_dir), output_formats=[]))
        stopper = StopTrainingOnRequest(should_stop)
        extra: list[BaseCallback] = []
        if on_start is not None:
            extra.append(_OnStart(saver, on_start, plan, paths))
        if progress_bar:
            extra.append(EpisodeProgress(_final_episodes(plan, env.num_envs), plan.start_episode))
        try:
            model.learn(
                total_timesteps=_total_timesteps(plan, env.num_envs),
                callback=CallbackList([stopper, saver, *extra, *(callbacks or [])]),
                log_interval=1,
                reset_num_timesteps=plan.source is None,
            )
        except (ValueError, RuntimeError) as exc:
            _raise_if_diverged(model, paths, exc)
            raise
    except BaseException as exc:
        if paths is not None and not plan.continues_run:
            remove_empty_run(paths, new_roots)  # bad input writes nothing, not even folders
        latest = paths.latest if paths is not None and paths.latest.exists() else None
        if isinstance(exc, OSError):
            # Files the run writes through other libraries (TensorBoard, folders, the lock).
            raise CheckpointWriteError(
                f"could not write {exc.filename or 'the run files'}: {exc.strerror or exc}",
                checkpoint=latest,
            ) from exc
        if isinstance(exc, CheckpointWriteError) and exc.checkpoint is None:
            exc.checkpoint = latest
        raise
    finally:
        if saver is not None:
            saver.close()
        env.close()
    return TrainingResult(
        paths=paths,
        episodes=saver.episodes_completed,
        global_step=saver.last_saved_step if saver.last_saved_step is not None else plan.start_step,
        best_reward=saver.best_reward,
        stopped_early=stopper.stopped,
        model=model,
    )


def _raise_if_diverged(model: OffPolicyAlgorithm, paths: RunPaths, error: Exception) -> None:
    """An error from inside SB3's update (PyTorch refusing a NaN distribution parameter, say)
    is divergence when the weights are no longer finite: say so, not the symptom."""
    parts = non_finite_parts(capture_networks(model))
    if parts:
        raise TrainingDivergedError(
            f"training diverged at global_step {model.num_timesteps}: NaN or infinite values "
            f"in {', '.join(parts)}",
            checkpoint=paths.latest if paths.latest.exists() else None,
        ) from error
