"""Checking a training request and deciding what it resumes, before anything is written.

:func:`plan_training` validates the options, finds the checkpoint ``--resume`` means, checks
that it fits (algo, env, dims, net_arch, replay history) and returns a :class:`TrainingPlan`
for :func:`robot6_sb3.trainer.run_training`; bad input raises :class:`UsageError`.
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
from sb3_contrib import TQC
from stable_baselines3 import SAC
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

import robot6_envs
from robot6_sb3.checkpoint import Checkpoint, load_checkpoint
from robot6_sb3.discovery import Skipped, find_resume_checkpoint
from robot6_sb3.errors import (
    CheckpointError,
    IncompatibleCheckpointError,
    UsageError,
)
from robot6_sb3.hyperparameters import Hyperparameters
from robot6_sb3.layout import (
    DEFAULT_CHECKPOINTS_DIR,
    DEFAULT_RUNS_DIR,
    EPISODE,
    LATEST_NAME,
    METADATA,
    REPLAY,
    run_time,
)
from robot6_sb3.replay_log import missing_transitions

ALGORITHMS: dict[str, type[OffPolicyAlgorithm]] = {"sac": SAC, "tqc": TQC}

DEVICES = ("auto", "cpu", "cuda")


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
    save_every: int = 50
    checkpoints_dir: Path = DEFAULT_CHECKPOINTS_DIR
    runs_dir: Path = DEFAULT_RUNS_DIR
    overrides: dict[str, Any] = field(default_factory=dict)
    """Hyperparameters given explicitly (field name -> value)."""
    threads: int = 1
    """PyTorch CPU threads; small nets train fastest on one (see benchmarks/RESULTS.md)."""
    replay_log: bool = True
    """Keep the transition log that makes resume exact (``--no-buffer`` turns it off)."""
    resume: bool = False
    resume_ckpt: Path | None = None
    keep_last: int | None = None
    """Keep only this many newest ``ckpt_ep_N.pth`` files while training (``None``: all)."""
    labels: dict[str, Any] = field(default_factory=dict)
    """Plain values stored as ``metadata["labels"]`` in every checkpoint (e.g. a sweep's study
    and trial)."""


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
    source: Path | None = None
    """The checkpoint resumed, if any."""
    checkpoint: Checkpoint | None = None
    continues_run: bool = False
    """True when resuming a run's ``latest.pth`` (same folders); False forks a new run."""
    notices: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    resume_not_found: bool = False

    @property
    def start_episode(self) -> int:
        return int(self.checkpoint[EPISODE]) if self.checkpoint else 0


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
    if request.episodes < 1:
        raise UsageError(f"--episodes must be at least 1, got {request.episodes}")
    if request.threads < 1:
        raise UsageError(f"--threads must be at least 1, got {request.threads}")
    if request.save_every < 1:
        raise UsageError(f"--save-every must be at least 1, got {request.save_every}")
    if request.keep_last is not None and request.keep_last < 1:
        raise UsageError(
            f"--keep-last must be at least 1, got {request.keep_last}; "
            "leave it out to keep every ckpt_ep_N.pth"
        )
    if request.algo is not None and request.algo not in ALGORITHMS:
        raise UsageError(f"unknown --algo {request.algo!r}; choose one of: {', '.join(ALGORITHMS)}")
    if request.env_id is not None and request.env_id not in robot6_env_ids():
        raise UsageError(
            f"unknown --env {request.env_id!r}; choose one of: {', '.join(robot6_env_ids())}"
        )
    choose_device(request.device)
    for name in ("learning_rate", "tau", "gamma"):
        value = request.overrides.get(name)
        if value is not None and not (value > 0 and math.isfinite(value)):
            raise UsageError(f"--{name.replace('_', '-')} must be a positive number, got {value}")
    for name in ("batch_size", "buffer_size", "train_freq", "gradient_steps"):
        value = request.overrides.get(name)
        if value is not None and value < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    starts = request.overrides.get("learning_starts")
    if starts is not None and starts < 0:
        raise UsageError(f"--learning-starts must be >= 0, got {starts}")
    arch = request.overrides.get("net_arch")
    if arch is not None and (not arch or any(size < 1 for size in arch)):
        raise UsageError(f"--net-arch needs positive layer sizes, got {','.join(map(str, arch))}")


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


def _new_run_plan(request: TrainRequest) -> TrainingPlan:
    env_id = request.env_id or robot6_envs.ENV_ID
    hyperparameters = Hyperparameters().replace(**request.overrides)
    plan = TrainingPlan(
        request=request,
        algo=request.algo or "sac",
        env_id=env_id,
        env_kwargs={},
        seed=request.seed if request.seed is not None else secrets.randbelow(2**31),
        hyperparameters=hyperparameters,
        max_episode_steps=max_episode_steps(env_id),
    )
    _check_alignment(plan)
    return plan


def _check_alignment(plan: TrainingPlan) -> None:
    # Checkpoints are taken between rollouts; rollouts must end where episodes end.
    train_freq = plan.hyperparameters.train_freq
    if plan.max_episode_steps % train_freq:
        raise UsageError(
            f"--train-freq {train_freq} must divide the episode length {plan.max_episode_steps} "
            "so that every episode ends at a rollout boundary where it can be saved"
        )
    if plan.hyperparameters.buffer_size < plan.max_episode_steps:
        raise UsageError(
            f"--buffer-size {plan.hyperparameters.buffer_size} must hold at least one episode "
            f"({plan.max_episode_steps} transitions)"
        )


def _resume_plan(request: TrainRequest, source: Path, checkpoint: Checkpoint) -> TrainingPlan:
    metadata = checkpoint[METADATA]
    try:
        saved_hp = Hyperparameters.from_dict(metadata["hyperparameters"])
    except (TypeError, ValueError) as exc:
        raise CheckpointError(
            f"{source}: its metadata hyperparameters are invalid ({exc})"
        ) from None
    mismatches = []
    for label, asked, saved in (
        ("algo", request.algo, metadata["algo"]),
        ("env", request.env_id, metadata["env_id"]),
        ("net_arch", _arch(request.overrides.get("net_arch")), _arch(saved_hp.net_arch)),
    ):
        if asked is not None and asked != saved:
            mismatches.append(f"{label}: checkpoint has {saved}, you asked for {asked}")
    env_id = metadata["env_id"]
    if env_id not in gym.registry:
        mismatches.append(f"env: checkpoint names {env_id}, which is not a registered env")
    if metadata["algo"] not in ALGORITHMS:
        mismatches.append(f"algo: checkpoint names {metadata['algo']}, which this version lacks")
    if not mismatches:
        try:
            env = gym.make(env_id, **metadata["env_kwargs"])
        except (TypeError, ValueError) as exc:
            raise IncompatibleCheckpointError(
                f"{source}: {env_id} cannot be made with the saved env_kwargs "
                f"{metadata['env_kwargs']} ({exc})"
            ) from None
        obs_dim, act_dim = flat_dim(env.observation_space), flat_dim(env.action_space)
        env.close()
        for label, saved, current in (
            ("obs_dim", metadata["obs_dim"], obs_dim),
            ("act_dim", metadata["act_dim"], act_dim),
        ):
            if saved != current:
                mismatches.append(
                    f"{label}: checkpoint was made for {saved}, {env_id} has {current}"
                )
    if mismatches:
        raise IncompatibleCheckpointError(
            f"{source} cannot continue as asked: "
            + "; ".join(mismatches)
            + ". Start a new run (robot6 train without --resume) or drop the conflicting options."
        )
    hyperparameters = saved_hp.replace(**request.overrides)
    notices = [
        f"{name} changed from {getattr(saved_hp, name)} to {getattr(hyperparameters, name)}; "
        "applied to the restored optimizers"
        if name == "learning_rate"
        else f"{name} changed from {getattr(saved_hp, name)} to {getattr(hyperparameters, name)}"
        for name in Hyperparameters.__dataclass_fields__
        if getattr(saved_hp, name) != getattr(hyperparameters, name)
    ]
    if request.seed is not None and request.seed != metadata.get("seed"):
        notices.append(
            f"--seed {request.seed} ignored: a resumed run continues the saved random state"
        )
    replay = checkpoint.get(REPLAY)
    if replay is None:
        notices.append(
            "this checkpoint holds no replay buffer: training continues with an empty buffer "
            "and is no longer an exact continuation of the original run"
        )
    elif not request.replay_log:
        notices.append(
            "--no-buffer: the checkpoint's replay history is not loaded; training continues "
            "with an empty buffer and is no longer an exact continuation of the original run"
        )
    else:
        missing = missing_transitions(
            source.resolve().parent.parent if _in_run_folder(source) else source.parent,
            replay["lineage"],
            hyperparameters.buffer_size,
        )
        if missing:
            raise CheckpointError(
                f"{source}: {missing}. Copy the whole run folder (with its replay/ folder and "
                "those of its parents), or pass --no-buffer to resume with an empty buffer"
            )
    continues = source.name == LATEST_NAME and _in_run_folder(source)
    plan = TrainingPlan(
        request=request,
        algo=metadata["algo"],
        env_id=env_id,
        env_kwargs=dict(metadata["env_kwargs"]),
        seed=int(metadata.get("seed", 0)),
        hyperparameters=hyperparameters,
        max_episode_steps=max_episode_steps(env_id),
        source=source,
        checkpoint=checkpoint,
        continues_run=continues,
        notices=notices,
    )
    _check_alignment(plan)
    return plan


def _arch(arch: Any) -> str | None:
    return None if arch is None else ",".join(str(n) for n in arch)


def flat_dim(space: spaces.Space) -> int:
    return int(spaces.flatdim(space))


def checkpoints_root(plan: TrainingPlan) -> Path:
    """Where the run lives: a resumed or forked run sits beside the run folder its checkpoint
    came from, so its replay lineage can name its parent run by folder name. A checkpoint
    file outside any run folder (copied on its own) forks into ``--checkpoints-dir``."""
    if plan.source is not None and _in_run_folder(plan.source):
        return plan.source.resolve().parent.parent
    return Path(plan.request.checkpoints_dir).resolve()


def _in_run_folder(checkpoint: Path) -> bool:
    return run_time(checkpoint.resolve().parent.name) is not None
