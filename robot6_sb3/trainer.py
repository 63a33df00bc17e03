"""The trainer: builds the env, the SAC/TQC model and the callbacks, and runs ``learn``.

Two steps, so the CLI can report before anything is written: :func:`plan_training` checks the
request and finds what to resume (it writes nothing), :func:`run_training` creates or
continues the run and trains until it has ``episodes`` episodes or is asked to stop.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from sb3_contrib import TQC
from stable_baselines3 import SAC
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.logger import Logger, TensorBoardOutputFormat
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.vec_env import DummyVecEnv
from tensorboard.compat.proto.event_pb2 import Event, SessionLog

import robot6_envs
from robot6_sb3.atomic import remove_temp_files
from robot6_sb3.background_writer import BackgroundWriter
from robot6_sb3.callbacks import (
    CSVLoggerCallback,
    EpisodeCheckpointCallback,
    TensorBoardEpisodeCallback,
)
from robot6_sb3.checkpoint import Checkpoint, apply_checkpoint, load_checkpoint, package_versions
from robot6_sb3.discovery import Skipped, find_resume_checkpoint
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
    DEFAULT_CHECKPOINTS_DIR,
    DEFAULT_RUNS_DIR,
    ENV_STATE,
    EPISODE,
    FORMAT_VERSION,
    GLOBAL_STEP,
    LATEST_NAME,
    METADATA,
    REPLAY,
    RNG_STATE,
    WALL_TIME,
    RunPaths,
    create_run,
    periodic_episode,
    run_time,
)
from robot6_sb3.pruning import keep_last_periodic
from robot6_sb3.replay_log import ReplayLog, lineage_size, load_buffer, missing_transitions
from robot6_sb3.rng import restore_rng
from robot6_sb3.run_lock import RunLock
from robot6_sb3.training_csv import write_rows_before

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


def _choose_device(device: str) -> str:
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
    _choose_device(request.device)
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


def _max_episode_steps(env_id: str) -> int:
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
        max_episode_steps=_max_episode_steps(env_id),
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
        obs_dim, act_dim = _flat_dim(env.observation_space), _flat_dim(env.action_space)
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
        max_episode_steps=_max_episode_steps(env_id),
        source=source,
        checkpoint=checkpoint,
        continues_run=continues,
        notices=notices,
    )
    _check_alignment(plan)
    return plan


def _arch(arch: Any) -> str | None:
    return None if arch is None else ",".join(str(n) for n in arch)


def _flat_dim(space: spaces.Space) -> int:
    return int(spaces.flatdim(space))


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
        "obs_dim": _flat_dim(env.observation_space),
        "act_dim": _flat_dim(env.action_space),
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
    hyperparameters = saved.replace(buffer_size=_max_episode_steps(env_id))
    env = make_env(env_id, metadata["env_kwargs"])
    model = ALGORITHMS[metadata["algo"]](
        "MlpPolicy", env, device=_choose_device(device), verbose=0, **hyperparameters.sb3_kwargs()
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


class StopTrainingOnRequest(BaseCallback):
    """Ends ``learn`` at the next env step once ``should_stop()`` is true (e.g. after Ctrl-C).

    :param should_stop: polled once per step; cheap
    """

    def __init__(self, should_stop: Callable[[], bool], verbose: int = 0) -> None:
        super().__init__(verbose)
        self.should_stop = should_stop
        self.stopped = False

    def _on_step(self) -> bool:
        if self.should_stop():
            self.stopped = True
            return False
        return True


def _checkpoints_root(plan: TrainingPlan) -> Path:
    """Where the run lives: a resumed or forked run sits beside the run folder its checkpoint
    came from, so its replay lineage can name its parent run by folder name. A checkpoint
    file outside any run folder (copied on its own) forks into ``--checkpoints-dir``."""
    if plan.source is not None and _in_run_folder(plan.source):
        return plan.source.resolve().parent.parent
    return Path(plan.request.checkpoints_dir).resolve()


def _in_run_folder(checkpoint: Path) -> bool:
    return run_time(checkpoint.resolve().parent.name) is not None


def _prepare_run_folders(plan: TrainingPlan) -> RunPaths:
    request = plan.request
    root = _checkpoints_root(plan)
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
        checkpoints_root = _checkpoints_root(plan)
        load_buffer(model.replay_buffer, checkpoints_root, lineage)
        if plan.continues_run:
            ReplayLog(checkpoints_root, paths.name).drop_after(lineage_size(lineage))
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
    device = _choose_device(request.device)
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
    replay_log = ReplayLog(_checkpoints_root(plan), paths.name) if request.replay_log else None
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
