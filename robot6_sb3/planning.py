"""Checking a training request and deciding what it resumes, before anything is written.

:func:`plan_training` takes a :class:`~robot6_sb3.training_config.TrainConfig` (its values
already checked one by one), finds the checkpoint a resume means, checks that it fits what was
asked (algo, env, net_arch, n_envs) and returns a :class:`TrainingPlan` for
:func:`robot6_sb3.trainer.run_training`; bad input raises :class:`UsageError` subclasses that
name the field. What the
checkpoint needs from the files (its replay history, an env that takes its state) is checked
by :func:`robot6_sb3.load_resumable` when the run starts, still before anything is written.
"""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
from gymnasium import spaces
from stable_baselines3.common.vec_env import VecEnv

import robot6_envs
from robot6_sb3.algorithms import (
    ALGORITHMS,
    ENGINE_CLASSES,
    SB3,
    check_engine,
    default_engine,
    engine_change,
)
from robot6_sb3.checkpoint import Checkpoint, load_checkpoint, metadata_of
from robot6_sb3.config_fields import ConfigError
from robot6_sb3.devices import choose_device
from robot6_sb3.discovery import Skipped, find_resume_checkpoint
from robot6_sb3.errors import IncompatibleCheckpointError
from robot6_sb3.exactness import exactness
from robot6_sb3.hyperparameters import Hyperparameters, is_goal_conditioned
from robot6_sb3.layout import BEST_REWARD, EPISODE, GLOBAL_STEP, run_folder_of
from robot6_sb3.resume_point import continues_run, fork_root
from robot6_sb3.run_metadata import RunMetadata
from robot6_sb3.run_settings import RunSettings
from robot6_sb3.training_config import TrainConfig


def robot6_env_ids() -> list[str]:
    """The registered env ids this package provides."""
    return sorted(
        env_id
        for env_id, spec in gym.registry.items()
        if str(spec.entry_point).startswith(robot6_envs.__name__)
    )


@dataclass(frozen=True)
class Notice:
    """Something a resume does differently from the saved run."""

    field: str | None
    """The setting it is about (``None``: the checkpoint itself)."""
    text: str
    """What happens, to be read after the setting's name."""

    def __str__(self) -> str:
        return self.text if self.field is None else f"{self.field} {self.text}"


@dataclass
class TrainingPlan:
    """A checked request: what will be trained, from where, and what to tell the user."""

    config: TrainConfig
    algo: str
    env_id: str
    env_kwargs: dict[str, Any]
    seed: int
    hyperparameters: Hyperparameters
    """The config's, or on resume the checkpoint's with the ones given applied."""
    settings: RunSettings
    """Likewise for the run settings."""
    max_episode_steps: int
    n_envs: int = 1
    vec_env: str = "dummy"
    engine: str = SB3
    """The gradient engine that trains (see :mod:`robot6_sb3.engine`)."""
    source: Path | None = None
    """The checkpoint resumed, if any."""
    checkpoint: Checkpoint | None = None
    continues_run: bool = False
    """True when resuming a run's ``latest.pth`` (same folders); False forks a new run."""
    log_dir: Path | None = None
    """A continued run's log folder, where its logs already are."""
    exact: bool = True
    """Whether the resume continues bitwise like the run that never stopped (a new run: its
    checkpoints will, where :attr:`RunMetadata.exact` says so)."""
    notices: list[Notice] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    resume_not_found: bool = False

    @property
    def start_episode(self) -> int:
        return int(self.checkpoint[EPISODE]) if self.checkpoint else 0

    @property
    def start_step(self) -> int:
        return int(self.checkpoint[GLOBAL_STEP]) if self.checkpoint else 0

    @property
    def start_best_reward(self) -> float | None:
        return float(self.checkpoint[BEST_REWARD]) if self.checkpoint else None

    def model_overrides(self, env: VecEnv) -> dict[str, Any]:
        """The hyperparameters given on a resume, as constructor arguments of the model."""
        given = self.config.given_hyperparameters() - {"net_arch"}  # checked equal to the saved
        if not given:
            return {}
        return self.hyperparameters.sb3_kwargs(self.algo, env, only=given)


def _check_config(config: TrainConfig) -> None:
    """What :class:`TrainConfig` cannot check by itself: this machine and this install."""
    choose_device(config.device)
    if config.env_id not in robot6_env_ids():
        raise ConfigError(
            "env_id", f"{config.env_id!r} is unknown; choose one of: {', '.join(robot6_env_ids())}"
        )


def _observation_space(env_id: str) -> spaces.Space:
    env = gym.make(env_id)
    try:
        return env.observation_space
    finally:
        env.close()


def max_episode_steps(env_id: str) -> int:
    steps = gym.spec(env_id).max_episode_steps
    if not steps:
        raise ConfigError("env_id", f"{env_id} has no max_episode_steps; episodes must be bounded")
    return int(steps)


def plan_training(config: TrainConfig) -> TrainingPlan:
    """Check ``config`` against this machine and find the checkpoint to resume; writes nothing.

    :raises UsageError: for a device or env this machine lacks, a missing or invalid
        ``resume_ckpt`` or an incompatible checkpoint (the message names each field)
    """
    _check_config(config)
    source, checkpoint, skipped = None, None, []
    if config.resume_ckpt is not None:
        source = Path(config.resume_ckpt)
        checkpoint = load_checkpoint(source)
    elif config.resume:
        choice = find_resume_checkpoint(config.checkpoints_dir)
        source, checkpoint, skipped = choice.path, choice.checkpoint, choice.skipped
    if checkpoint is None:
        plan = _new_run_plan(config)
        plan.skipped = skipped
        plan.resume_not_found = config.resume and config.resume_ckpt is None
        return plan
    assert source is not None
    plan = _resume_plan(config, source, checkpoint)
    plan.skipped = skipped
    return plan


def _new_run_plan(config: TrainConfig) -> TrainingPlan:
    plan = TrainingPlan(
        config=config,
        algo=config.algo,
        env_id=config.env_id,
        env_kwargs={},
        seed=config.seed if config.seed is not None else secrets.randbelow(2**31),
        hyperparameters=config.hyperparameters,
        settings=config.settings,
        max_episode_steps=max_episode_steps(config.env_id),
        n_envs=config.n_envs,
        vec_env=config.vec_env,
        engine=config.engine or default_engine(config.algo),
    )
    check_engine(plan.algo, plan.engine)
    _check_her_warm_up(plan)
    return plan


def _check_her_warm_up(plan: TrainingPlan) -> None:
    """HER samples only from finished episodes: the warm-up must finish one in every env."""
    hyper = plan.hyperparameters
    if hyper.her_goals == 0 or not is_goal_conditioned(_observation_space(plan.env_id)):
        return
    needed = plan.max_episode_steps * plan.n_envs
    if hyper.learning_starts < needed:
        raise ConfigError(
            "learning_starts",
            f"{hyper.learning_starts} is too short for HER on {plan.env_id}: it samples only "
            f"finished episodes, so the warm-up needs at least {needed} steps (one episode of "
            f"{plan.max_episode_steps} steps in each of the {plan.n_envs} envs)",
        )


def _resume_plan(config: TrainConfig, source: Path, checkpoint: Checkpoint) -> TrainingPlan:
    metadata = metadata_of(checkpoint)
    _check_fits(config, source, metadata)
    assert metadata.env_id is not None
    saved = Hyperparameters.from_model_kwargs(metadata.model_kwargs)
    given = {name: getattr(config.hyperparameters, name) for name in config.given_hyperparameters()}
    hyperparameters = saved.replace(**given)
    settings = dataclasses.replace(metadata.settings, **config.given_settings())
    engine = config.engine or metadata.engine
    check_engine(metadata.algo, engine)
    return TrainingPlan(
        config=config,
        algo=metadata.algo,
        env_id=metadata.env_id,
        env_kwargs=dict(metadata.env_kwargs),
        seed=metadata.seed if metadata.seed is not None else 0,
        hyperparameters=hyperparameters,
        settings=settings,
        max_episode_steps=max_episode_steps(metadata.env_id),
        n_envs=metadata.n_envs,
        vec_env=config.vec_env if config.was_given("vec_env") else metadata.vec_env,
        engine=engine,
        source=source,
        checkpoint=checkpoint,
        continues_run=continues_run(source, metadata),
        log_dir=None
        if config.was_given("runs_dir")
        else _saved_log_dir(source, metadata.settings.log_dir),
        exact=exactness(checkpoint, source).exact
        and settings.replay_log
        and engine == metadata.engine,
        notices=_resume_notices(config, checkpoint, saved, hyperparameters, settings, engine),
    )


def _check_fits(config: TrainConfig, source: Path, metadata: RunMetadata) -> None:
    """:raises IncompatibleCheckpointError: when the checkpoint cannot continue as asked"""
    mismatches = [
        f"{name}: checkpoint has {kept}, you asked for {asked}"
        for name, asked, kept in (
            ("algo", config.algo, metadata.algo),
            ("env_id", config.env_id, metadata.env_id),
            ("net_arch", _arch(config.hyperparameters.net_arch), _arch(metadata.net_arch)),
            ("n_envs", config.n_envs, metadata.n_envs),
        )
        if config.was_given(name) and asked != kept
    ]
    if metadata.env_id is None or metadata.env_id not in gym.registry:
        mismatches.append(
            f"env_id: checkpoint names {metadata.env_id}, which is not a registered env"
        )
    if metadata.algo not in ALGORITHMS:
        mismatches.append(f"algo: checkpoint names {metadata.algo}, which this version lacks")
    if config.engine is None and metadata.engine not in ENGINE_CLASSES:
        mismatches.append(
            f"engine: checkpoint names {metadata.engine}, which this version lacks "
            f"(pass --engine {SB3} to continue with Stable-Baselines3's update)"
        )
    if mismatches:
        raise IncompatibleCheckpointError(
            f"{source} cannot continue as asked: "
            + "; ".join(mismatches)
            + ". Start a new run, or leave out the conflicting settings."
        )


def _resume_notices(
    config: TrainConfig,
    checkpoint: Checkpoint,
    saved: Hyperparameters,
    hyperparameters: Hyperparameters,
    settings: RunSettings,
    engine: str,
) -> list[Notice]:
    """What a resume does differently from the saved run, for the user to read."""
    metadata = metadata_of(checkpoint)
    notices = [
        Notice(
            name,
            f"changed from {getattr(saved, name)} to {getattr(hyperparameters, name)}"
            + ("; applied to the restored optimizers" if name == "learning_rate" else ""),
        )
        for name in sorted(config.given_hyperparameters())
        if getattr(saved, name) != getattr(hyperparameters, name)
    ]
    notices += [
        Notice(
            name,
            f"changed from {getattr(metadata.settings, name)} to {getattr(settings, name)} "
            "for this run",
        )
        for name in sorted(config.given_settings())
        if name != "replay_log" and getattr(metadata.settings, name) != getattr(settings, name)
    ]
    if engine != metadata.engine:
        notices.append(Notice("engine", engine_change(metadata.engine, engine)))
    if config.seed is not None and config.seed != metadata.seed:
        notices.append(
            Notice("seed", f"{config.seed} ignored: a resumed run continues the saved random state")
        )
    if checkpoint.get("replay") is None:
        notices.append(
            Notice(
                None,
                "this checkpoint holds no replay buffer: training continues with an empty "
                "buffer and is no longer an exact continuation of the original run",
            )
        )
    elif not settings.replay_log:
        notices.append(
            Notice(
                "replay_log",
                "is off: the checkpoint's replay history is not loaded; training continues with "
                "an empty buffer and is no longer an exact continuation of the original run",
            )
        )
    return notices


def _saved_log_dir(source: Path, saved: str | None) -> Path | None:
    if saved is None:
        return None
    return (run_folder_of(source) / saved).resolve()


def _arch(arch: Any) -> str | None:
    return None if arch is None else ",".join(str(n) for n in arch)


def checkpoints_root(plan: TrainingPlan) -> Path:
    """Where the run lives: a continued run in its own folder's parent, a fork beside the run
    folder its checkpoint is in (so its lineage names its parent by folder), and a new run,
    or a fork of a file outside any run folder, in ``checkpoints_dir``."""
    if plan.source is not None:
        if plan.continues_run:
            return run_folder_of(plan.source).parent
        root = fork_root(plan.source)
        if root is not None:
            return root
    return Path(plan.config.checkpoints_dir).resolve()
