"""Checking a training request and deciding what it resumes, before anything is written.

:func:`plan_training` validates the options, finds the checkpoint ``--resume`` means, checks
that it fits what was asked (algo, env, net_arch) and returns a :class:`TrainingPlan` for
:func:`robot6_sb3.trainer.run_training`; bad input raises :class:`UsageError`. What the
checkpoint needs from the files (its replay history, an env that takes its state) is checked
by :func:`robot6_sb3.load_resumable` when the run starts, still before anything is written.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch
from gymnasium import spaces
from stable_baselines3.common.vec_env import VecEnv

import robot6_envs
from robot6_sb3.algorithms import ALGORITHMS, ENGINE_CLASSES, default_engine, engine_change
from robot6_sb3.checkpoint import Checkpoint, load_checkpoint, metadata_of
from robot6_sb3.discovery import Skipped, find_resume_checkpoint
from robot6_sb3.errors import IncompatibleCheckpointError, UsageError
from robot6_sb3.hyperparameters import (
    FIELD_NAMES,
    Hyperparameters,
    entropy_coefficient,
    is_goal_conditioned,
)
from robot6_sb3.layout import (
    DEFAULT_CHECKPOINTS_DIR,
    EPISODE,
    GLOBAL_STEP,
)
from robot6_sb3.resume_point import continues_run, fork_root

DEVICES = ("auto", "cpu", "cuda")
VEC_ENV_KINDS = ("dummy", "subproc")
SEED_RANGE = 2**32
"""Seeds NumPy accepts: 0 to 2**32 - 1."""


def robot6_env_ids() -> list[str]:
    """The registered env ids this package provides."""
    return sorted(
        env_id
        for env_id, spec in gym.registry.items()
        if str(spec.entry_point).startswith(robot6_envs.__name__)
    )


@dataclass(frozen=True)
class TrainRequest:
    """What the user asked for. ``None`` means "not given": the default for a new run, the
    checkpoint's value on resume."""

    episodes: int = 300
    """The run's total episode count (a resumed run trains until it has this many)."""
    env_id: str | None = None
    algo: str | None = None
    seed: int | None = None
    device: str = "auto"
    save_every: int | None = None
    """Completed episodes between two ``ckpt_ep_N.pth`` (default 50; on resume the run's)."""
    checkpoints_dir: Path = DEFAULT_CHECKPOINTS_DIR
    runs_dir: Path | None = None
    """Folder of the runs' logs (default ``runs``; on resume, where the run's logs are)."""
    overrides: dict[str, Any] = field(default_factory=dict)
    """Hyperparameters given explicitly (field name -> value)."""
    threads: int = 1
    """PyTorch CPU threads; small nets train fastest on one (see benchmarks/RESULTS.md)."""
    replay_log: bool | None = None
    """Keep the transition log that makes resume exact (``--no-buffer`` turns it off)."""
    resume: bool = False
    resume_ckpt: Path | None = None
    keep_last: int | None = None
    """Keep only this many newest ``ckpt_ep_N.pth`` files while training (``None``: all)."""
    eval_every: int | None = None
    """Completed episodes between two deterministic evaluations (``None``: none; on resume,
    the run's own setting)."""
    eval_episodes: int | None = None
    """Episodes per evaluation (default 20; on resume, the run's own)."""
    n_envs: int | None = None
    """Envs stepped together (default 1; a resumed run keeps its own)."""
    vec_env: str | None = None
    """``dummy`` (one process) or ``subproc`` (one process per env)."""
    labels: dict[str, Any] = field(default_factory=dict)
    """Plain values stored as ``metadata["labels"]`` in every checkpoint (e.g. a sweep's study
    and trial)."""
    engine: str | None = None
    """Whose gradient update trains: ``fast`` or ``sb3`` (default: ``fast`` for SAC and TQC,
    ``sb3`` for the others; on resume, the run's own)."""


@dataclass
class TrainingPlan:
    """A checked request: what will be trained, from where, and what to tell the user."""

    request: TrainRequest
    algo: str
    env_id: str
    env_kwargs: dict[str, Any]
    seed: int
    hyperparameters: Hyperparameters
    max_episode_steps: int
    n_envs: int = 1
    vec_env: str = "dummy"
    engine: str = "sb3"
    """The gradient engine that trains (see :mod:`robot6_sb3.engine`)."""
    source: Path | None = None
    """The checkpoint resumed, if any."""
    checkpoint: Checkpoint | None = None
    continues_run: bool = False
    """True when resuming a run's ``latest.pth`` (same folders); False forks a new run."""
    log_dir: Path | None = None
    """A continued run's log folder, where its logs already are."""
    notices: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    resume_not_found: bool = False

    @property
    def start_episode(self) -> int:
        return int(self.checkpoint[EPISODE]) if self.checkpoint else 0

    @property
    def start_step(self) -> int:
        return int(self.checkpoint[GLOBAL_STEP]) if self.checkpoint else 0

    def model_overrides(self, env: VecEnv) -> dict[str, Any]:
        """The hyperparameters given on a resume, as constructor arguments of the model."""
        given = set(self.request.overrides) - {"net_arch"}  # checked equal to the saved one
        if not given:
            return {}
        return self.hyperparameters.sb3_kwargs(self.algo, env, only=given)


def choose_device(device: str) -> str:
    if device not in DEVICES:
        raise UsageError(f"--device must be one of {', '.join(DEVICES)}, got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise UsageError(
            "--device cuda was asked for, but PyTorch sees no CUDA GPU on this machine "
            f"(torch {torch.__version__}); use --device cpu or --device auto"
        )
    return device


def _check_request(request: TrainRequest) -> None:
    minimum = {
        "episodes": 1,
        "threads": 1,
        "save_every": 1,
        "keep_last": 1,
        "n_envs": 1,
        "eval_every": 1,
        "eval_episodes": 1,
    }
    for name, least in minimum.items():
        value = getattr(request, name)
        if value is not None and value < least:
            raise UsageError(f"--{name.replace('_', '-')} must be at least {least}, got {value}")
    if request.seed is not None and not 0 <= request.seed < SEED_RANGE:
        raise UsageError(f"--seed must be between 0 and {SEED_RANGE - 1}, got {request.seed}")
    if request.algo is not None and request.algo not in ALGORITHMS:
        raise UsageError(f"unknown --algo {request.algo!r}; choose one of: {', '.join(ALGORITHMS)}")
    if request.env_id is not None and request.env_id not in robot6_env_ids():
        raise UsageError(
            f"unknown --env {request.env_id!r}; choose one of: {', '.join(robot6_env_ids())}"
        )
    if request.engine is not None and request.engine not in ENGINE_CLASSES:
        raise UsageError(
            f"unknown --engine {request.engine!r}; choose one of: {', '.join(ENGINE_CLASSES)}"
        )
    if request.vec_env is not None and request.vec_env not in VEC_ENV_KINDS:
        raise UsageError(f"--vec-env must be dummy or subproc, got {request.vec_env!r}")
    choose_device(request.device)
    check_hyperparameters(request.overrides)


def check_hyperparameters(values: dict[str, Any]) -> None:
    """:raises UsageError: naming the option of the first value out of its range."""
    unknown = sorted(set(values) - FIELD_NAMES)
    if unknown:
        raise UsageError(f"unknown hyperparameters: {', '.join(unknown)}")

    def option(name: str) -> str:
        return "--" + name.replace("_", "-")

    for name in ("learning_rate", "tau", "gamma"):
        value = values.get(name)
        if value is not None and not (value > 0 and math.isfinite(value)):
            raise UsageError(f"{option(name)} must be a positive number, got {value}")
    for name in ("tau", "gamma"):
        if values.get(name) is not None and values[name] > 1:
            raise UsageError(f"{option(name)} must be at most 1, got {values[name]}")
    for name in ("batch_size", "buffer_size", "train_freq", "gradient_steps"):
        value = values.get(name)
        if value is not None and value < 1:
            raise UsageError(f"{option(name)} must be at least 1, got {value}")
    for name in ("learning_starts", "her_goals"):
        if values.get(name) is not None and values[name] < 0:
            raise UsageError(f"{option(name)} must be >= 0, got {values[name]}")
    noise = values.get("action_noise")
    if noise is not None and not (noise >= 0 and math.isfinite(noise)):
        raise UsageError(f"--action-noise must be a number >= 0, got {noise}")
    if values.get("ent_coef") is not None:
        try:
            entropy_coefficient(values["ent_coef"])
        except ValueError as exc:
            raise UsageError(f"--ent-coef: {exc}") from None
    arch = values.get("net_arch")
    if arch is not None and (not arch or any(size < 1 for size in arch)):
        raise UsageError(f"--net-arch needs positive layer sizes, got {','.join(map(str, arch))}")


def _observation_space(env_id: str) -> spaces.Space:
    env = gym.make(env_id)
    try:
        return env.observation_space
    finally:
        env.close()


def max_episode_steps(env_id: str) -> int:
    steps = gym.spec(env_id).max_episode_steps
    if not steps:
        raise UsageError(f"env {env_id} has no max_episode_steps; episodes must be bounded")
    return int(steps)


def plan_training(request: TrainRequest) -> TrainingPlan:
    """Check ``request`` and find the checkpoint to resume; writes nothing.

    :raises UsageError: for bad options, a missing or invalid ``--resume-ckpt`` or an
        incompatible checkpoint (the message names each field)
    """
    _check_request(request)
    source, checkpoint, skipped = None, None, []
    if request.resume_ckpt is not None:
        source = Path(request.resume_ckpt)
        checkpoint = load_checkpoint(source)
    elif request.resume:
        choice = find_resume_checkpoint(request.checkpoints_dir)
        source, checkpoint, skipped = choice.path, choice.checkpoint, choice.skipped
    if checkpoint is None:
        plan = _new_run_plan(request)
        plan.skipped = skipped
        plan.resume_not_found = request.resume and request.resume_ckpt is None
        return plan
    assert source is not None
    plan = _resume_plan(request, source, checkpoint)
    plan.skipped = skipped
    return plan


def _engine(request: TrainRequest, algo: str, saved: str | None = None) -> str:
    """The engine that trains ``algo``: the one asked for, else the run's, else the default.

    :raises UsageError: for an engine that does not compute ``algo``
    """
    engine = request.engine or saved or default_engine(algo)
    if engine not in ENGINE_CLASSES:
        raise UsageError(
            f"the checkpoint names the engine {engine!r}, which this robot6-sb3 lacks; "
            f"pass --engine {' or --engine '.join(ENGINE_CLASSES)}"
        )
    if algo not in ENGINE_CLASSES[engine]:
        raise UsageError(
            f"--engine {engine} trains {' and '.join(ENGINE_CLASSES[engine])}, not {algo}; "
            f"drop --engine or pass --engine sb3"
        )
    return engine


def _new_run_plan(request: TrainRequest) -> TrainingPlan:
    env_id = request.env_id or robot6_envs.ENV_ID
    algo = request.algo or "sac"
    plan = TrainingPlan(
        request=request,
        algo=algo,
        env_id=env_id,
        env_kwargs={},
        seed=request.seed if request.seed is not None else secrets.randbelow(2**31),
        hyperparameters=Hyperparameters().replace(**request.overrides),
        max_episode_steps=max_episode_steps(env_id),
        n_envs=request.n_envs or 1,
        vec_env=request.vec_env or "dummy",
        engine=_engine(request, algo),
    )
    _check_her_warm_up(plan)
    return plan


def _check_her_warm_up(plan: TrainingPlan) -> None:
    """HER samples only from finished episodes: the warm-up must finish one in every env."""
    hyper = plan.hyperparameters
    if hyper.her_goals == 0 or not is_goal_conditioned(_observation_space(plan.env_id)):
        return
    needed = plan.max_episode_steps * plan.n_envs
    if hyper.learning_starts < needed:
        raise UsageError(
            f"--learning-starts {hyper.learning_starts} is too short for HER on {plan.env_id}: "
            f"it samples only finished episodes, so the warm-up needs at least {needed} steps "
            f"(one episode of {plan.max_episode_steps} steps in each of the {plan.n_envs} envs)"
        )


def _resume_plan(request: TrainRequest, source: Path, checkpoint: Checkpoint) -> TrainingPlan:
    metadata = metadata_of(checkpoint)
    saved = Hyperparameters.from_model_kwargs(metadata.model_kwargs)
    asked_arch = request.overrides.get("net_arch")
    mismatches = [
        f"{label}: checkpoint has {kept}, you asked for {asked}"
        for label, asked, kept in (
            ("algo", request.algo, metadata.algo),
            ("env", request.env_id, metadata.env_id),
            ("net_arch", _arch(asked_arch), _arch(metadata.net_arch)),
            ("n_envs", request.n_envs, metadata.n_envs),
        )
        if asked is not None and asked != kept
    ]
    if metadata.env_id is None or metadata.env_id not in gym.registry:
        mismatches.append(f"env: checkpoint names {metadata.env_id}, which is not a registered env")
    if metadata.algo not in ALGORITHMS:
        mismatches.append(f"algo: checkpoint names {metadata.algo}, which this version lacks")
    if mismatches:
        raise IncompatibleCheckpointError(
            f"{source} cannot continue as asked: "
            + "; ".join(mismatches)
            + ". Start a new run (robot6 train without --resume) or drop the conflicting options."
        )
    assert metadata.env_id is not None
    hyperparameters = saved.replace(**request.overrides)
    notices = [
        f"{name} changed from {getattr(saved, name)} to {getattr(hyperparameters, name)}"
        + ("; applied to the restored optimizers" if name == "learning_rate" else "")
        for name in sorted(request.overrides)
        if getattr(saved, name) != getattr(hyperparameters, name)
    ]
    saved_settings = metadata.settings
    for option, asked, kept in (
        ("--save-every", request.save_every, saved_settings.save_every),
        ("--keep-last", request.keep_last, saved_settings.keep_last),
        ("--eval-every", request.eval_every, saved_settings.eval_every),
        ("--eval-episodes", request.eval_episodes, saved_settings.eval_episodes),
    ):
        if asked is not None and asked != kept:
            notices.append(f"{option} changed from {kept} to {asked} for this run")
    engine = _engine(request, metadata.algo, metadata.engine)
    if engine != metadata.engine:
        notices.append(engine_change(metadata.engine, engine))
    if request.seed is not None and request.seed != metadata.seed:
        notices.append(
            f"--seed {request.seed} ignored: a resumed run continues the saved random state"
        )
    replay_log = metadata.settings.replay_log if request.replay_log is None else request.replay_log
    if checkpoint.get("replay") is None:
        notices.append(
            "this checkpoint holds no replay buffer: training continues with an empty buffer "
            "and is no longer an exact continuation of the original run"
        )
    elif not replay_log:
        notices.append(
            "--no-buffer: the checkpoint's replay history is not loaded; training continues "
            "with an empty buffer and is no longer an exact continuation of the original run"
        )
    continues = continues_run(source, metadata)
    return TrainingPlan(
        request=request,
        algo=metadata.algo,
        env_id=metadata.env_id,
        env_kwargs=dict(metadata.env_kwargs),
        seed=metadata.seed if metadata.seed is not None else 0,
        hyperparameters=hyperparameters,
        max_episode_steps=max_episode_steps(metadata.env_id),
        n_envs=metadata.n_envs,
        vec_env=request.vec_env or metadata.vec_env,
        engine=engine,
        source=source,
        checkpoint=checkpoint,
        continues_run=continues,
        log_dir=_saved_log_dir(source, metadata.settings.log_dir)
        if request.runs_dir is None
        else None,
        notices=notices,
    )


def _saved_log_dir(source: Path, saved: str | None) -> Path | None:
    if saved is None:
        return None
    return (source.resolve().parent / saved).resolve()


def _arch(arch: Any) -> str | None:
    return None if arch is None else ",".join(str(n) for n in arch)


def checkpoints_root(plan: TrainingPlan) -> Path:
    """Where the run lives: a continued run in its own folder's parent, a fork beside the run
    folder its checkpoint is in (so its lineage names its parent by folder), and a new run,
    or a fork of a file outside any run folder, in ``--checkpoints-dir``."""
    if plan.source is not None:
        if plan.continues_run:
            return plan.source.resolve().parent.parent
        root = fork_root(plan.source)
        if root is not None:
            return root
    return Path(plan.request.checkpoints_dir).resolve()
