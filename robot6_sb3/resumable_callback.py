"""``ResumableCheckpointCallback``: one SB3 callback that makes any supported run safe to stop
at any moment and resume exactly (SPEC 4-8).

At each episode's consistent point (see :mod:`robot6_sb3.episodes`) it appends the episode's
CSV row and TensorBoard scalars, the replay rows added since the last save, and writes
``latest.pth`` (plus ``best.pth`` and ``ckpt_ep_N.pth`` when due), all in that order on one
background thread, so training does not wait for the disk and no file ever runs ahead of the
checkpoint that covers it.
"""

from __future__ import annotations

import functools
import math
import os
import time
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

from gymnasium import spaces

from robot6_sb3.algorithms import algo_name
from robot6_sb3.atomic import atomic_copy, remove_temp_files
from robot6_sb3.background_writer import BackgroundWriter
from robot6_sb3.checkpoint import Progress, build_checkpoint, package_versions, save_checkpoint
from robot6_sb3.env_state import (
    capture_env_state,
    check_monitor,
    check_state_protocol,
    check_vec_env,
    env_description,
    inexact_reasons,
)
from robot6_sb3.episode_logs import CsvLog, TensorBoardLog
from robot6_sb3.episodes import EpisodeEndCallback, EpisodeRecord
from robot6_sb3.errors import Robot6Warning, TrainingDivergedError, UnsupportedSetupError
from robot6_sb3.layout import (
    BEST_NAME,
    CSV_NAME,
    ENV_STATE,
    LATEST_NAME,
    LOCK_NAME,
    MODEL,
    REPLAY,
    REPLAY_DIR_NAME,
    RNG_STATE,
    periodic_name,
)
from robot6_sb3.model_config import describe_model
from robot6_sb3.model_state import actor_is_finite, apply_noise, non_finite_parts
from robot6_sb3.pruning import keep_last_periodic
from robot6_sb3.replay_log import ReplayLog, extend_lineage, lineage_size
from robot6_sb3.replay_rows import Rows, check_loggable, rows_since
from robot6_sb3.resume_point import ResumePoint, new_run_id, prepare_run_folders
from robot6_sb3.rng import capture_rng, restore_rng
from robot6_sb3.run_identity import RunIdentity
from robot6_sb3.run_lock import RunLock
from robot6_sb3.run_metadata import RunMetadata, RunSettings


class InexactResumeWarning(Robot6Warning):
    """Checkpoints of this run will be written, but resuming them will not be exact."""


class ResumableCheckpointCallback(EpisodeEndCallback):
    """Writes a run's checkpoints and logs so it can stop at any moment and resume exactly.

    After every episode it writes ``latest.pth`` in ``save_path``, ``best.pth`` when an
    episode beats the best reward so far, and ``ckpt_ep_N.pth`` when the run's episode count
    reaches a multiple of ``save_every`` (with several envs, episodes end in groups: N is the
    count at the first save at or past each multiple). It appends one row per episode to
    ``training.csv`` and writes TensorBoard events in ``log_path``. The checkpoints hold the
    networks, optimizers, entropy coefficient, SB3's counters, every random generator, each
    sub-env's state and (through the replay log in ``save_path/replay``) the replay buffer;
    :func:`robot6_sb3.load_resumable` continues the run from any of them.

    Supported: SAC, TQC, TD3, DDPG and CrossQ; ``DummyVecEnv`` and ``SubprocVecEnv`` of
    ``Monitor``-wrapped envs; Box and Dict observations; ``ReplayBuffer``,
    ``DictReplayBuffer``, ``HerReplayBuffer`` and n-step returns. Anything else is refused
    when training starts, before a file is written. Resuming is exact when the env offers the
    state protocol (``get_state()``/``set_state()``); otherwise the checkpoints say they are
    not, and one :class:`InexactResumeWarning` says why.

    :param save_path: the run's checkpoint folder (e.g. ``checkpoints/<run>``); its name is
        the run's name. It must not hold another run's checkpoints.
    :param log_path: the run's log folder (e.g. ``runs/<run>``) for ``training.csv`` and
        TensorBoard events; ``None`` puts them in ``save_path``
    :param save_every: completed episodes between two ``ckpt_ep_N.pth`` files
    :param keep_last: keep only this many newest ``ckpt_ep_N.pth`` files (``None``: all);
        ``latest.pth`` and ``best.pth`` always stay
    :param replay_log: log the replay buffer, which exact resume needs (about 0.2 KB per
        transition of the robot6 env); ``False`` saves disk, and a resume then starts with an
        empty buffer
    :param verbose: 0 no output, 1 warnings and a line when a stop discards unsaved episodes
    :param labels: plain values stored in every checkpoint's metadata (e.g. a sweep's study and
        trial); they survive resumes and forks
    """

    def __init__(
        self,
        save_path: str | os.PathLike[str],
        log_path: str | os.PathLike[str] | None = None,
        save_every: int = 50,
        keep_last: int | None = None,
        replay_log: bool = True,
        verbose: int = 1,
        labels: dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(save_every, int) or save_every < 1:
            raise ValueError(f"save_every must be an int >= 1, got {save_every!r}")
        if keep_last is not None and (not isinstance(keep_last, int) or keep_last < 1):
            raise ValueError(f"keep_last must be None or an int >= 1, got {keep_last!r}")
        super().__init__(start_episode=0, verbose=verbose)
        self.save_path = Path(save_path)
        self.log_path = Path(log_path) if log_path is not None else self.save_path
        self.save_every = save_every
        self.keep_last = keep_last
        self.replay_log = replay_log
        self.labels = dict(labels or {})
        self.best_reward = -math.inf
        self.last_saved_step: int | None = None
        """``global_step`` of the newest save in this session (``None`` before the first)."""
        self.last_saved_episode: int | None = None
        """Episodes the newest save of this session holds (``None`` before the first)."""
        self.metadata: RunMetadata | None = None
        self._resume: ResumePoint | None = None
        self._restore_randomness: dict[str, Any] | None = None
        self._run_id = new_run_id()
        self._lineage: list[dict[str, Any]] = []
        self._rows_logged = 0
        self._unlogged_rows = 0
        self._env_protocol = False
        self._timesteps_at_save = 0
        self._wall_time_offset = 0.0
        self._started = time.monotonic()
        self._prepared = False
        self._lock: RunLock | None = None
        self._writer: BackgroundWriter | None = None
        self._csv: CsvLog | None = None
        self._tensorboard: TensorBoardLog | None = None
        self._rebuilt: list[EpisodeRecord] = []

    @property
    def run_name(self) -> str:
        return self.save_path.name

    def _continue_from(self, resume: ResumePoint) -> None:
        """Make this callback continue the run (or fork) at ``resume`` (for load_resumable)."""
        self._resume = resume
        if resume.continues:
            self._run_id = resume.metadata.run_id
        self.episodes_completed = resume.episode
        self.best_reward = resume.best_reward
        self._wall_time_offset = resume.wall_time
        self._lineage = resume.lineage if self.replay_log else []
        self._restore_randomness = resume.randomness

    # -- setup ------------------------------------------------------------------------------

    def _init_callback(self) -> None:
        algo = algo_name(self.model)
        venv = self.training_env
        check_vec_env(venv)
        check_monitor(venv)
        if self.replay_log:
            check_loggable(self.model.replay_buffer)
        if self.model.use_sde:
            raise UnsupportedSetupError(
                "gSDE exploration (use_sde=True) draws its noise matrices before callbacks run, "
                "so a checkpoint cannot hold them; train with use_sde=False"
            )
        if not self._prepared:
            if self._resume is not None and self.model.num_timesteps != self._resume.global_step:
                raise ValueError(
                    f"this model continues run {self._resume.metadata.run_name} at global_step "
                    f"{self._resume.global_step}, but learn() reset its counters to "
                    f"{self.model.num_timesteps}; call learn(..., reset_num_timesteps=False)"
                )
            self._env_protocol = venv.has_attr("get_state") and venv.has_attr("set_state")
            if self._env_protocol:
                check_state_protocol(venv)
            self.metadata = self._build_metadata(algo)
            self._warn_if_inexact()
        self._open()
        self._prepared = True
        self._timesteps_at_save = int(self.model.num_timesteps)
        self._started = time.monotonic()

    def _build_metadata(self, algo: str) -> RunMetadata:
        venv = self.training_env
        reasons = inexact_reasons(venv)
        if not self.replay_log:
            reasons.append(
                "trained without the replay log (--no-buffer, replay_log=False): a resume "
                "starts with an empty replay buffer"
            )
        if self.model.device.type != "cpu":
            reasons.append(
                f"trained on {self.model.device.type}: GPU kernels are not bitwise reproducible"
            )
        description = describe_model(self.model)
        env = env_description(venv)
        resume = self._resume
        saved = resume.metadata if resume is not None else None
        return RunMetadata(
            algo=algo,
            policy=description["policy"],
            model_kwargs=description["kwargs"],
            **env,
            obs_dim=int(spaces.flatdim(venv.observation_space)),
            act_dim=int(spaces.flatdim(venv.action_space)),
            run_name=self.run_name,
            run_id=self._run_id,
            settings=RunSettings(
                save_every=self.save_every,
                keep_last=self.keep_last,
                replay_log=self.replay_log,
                log_dir=os.path.relpath(self.log_path.absolute(), self.save_path.absolute()),
            ),
            seed=self.model.seed,
            device=self.model.device.type,
            exact=not reasons,
            inexact_reasons=reasons,
            parent=resume.parent() if resume is not None else None,
            labels={**(saved.labels if saved else {}), **self.labels},
            versions=package_versions(),
            created=saved.created if saved and resume and resume.continues else _now(),
        )

    def _warn_if_inexact(self) -> None:
        assert self.metadata is not None
        if self.metadata.inexact_reasons and self.verbose >= 1:
            warnings.warn(
                f"checkpoints of run {self.run_name} will not resume exactly: "
                + "; ".join(self.metadata.inexact_reasons),
                InexactResumeWarning,
                stacklevel=2,
            )

    def _open(self) -> None:
        """Take the run's lock, prepare its folders once, and open the logs and the writer."""
        first = not self._prepared
        if self._lock is None:
            self.save_path.mkdir(parents=True, exist_ok=True)
            lock = RunLock(self.save_path / LOCK_NAME)
            lock.acquire()
            self._lock = lock
        try:
            if first:
                self._prepare(self.model.replay_buffer)
            for folder in (self.save_path, self.save_path / REPLAY_DIR_NAME, self.log_path):
                if folder.is_dir():
                    remove_temp_files(folder)  # what a crash mid-write left behind
            self._csv = CsvLog(self.log_path / CSV_NAME)
            self._csv.open()
            resumed_step = (
                self._resume.global_step
                if first and self._resume and self._resume.continues
                else None
            )
            had_events = any(self.log_path.glob("events.out.tfevents.*"))
            self._tensorboard = TensorBoardLog(self.log_path, resumed_step)
            self._tensorboard.attach(self.model.logger)
            if first and self._rebuilt and not had_events:
                self._tensorboard.write_episodes(self._rebuilt)
            self._writer = BackgroundWriter()
        except BaseException:
            self.close()
            raise

    def _prepare(self, buffer: Any) -> None:
        """What only the first ``learn`` of the run does: check the folder is this run's, and
        put the files a resume continues in the checkpoint's state."""
        identity = RunIdentity(self.run_name, self._run_id)
        self._rebuilt = prepare_run_folders(self.save_path, self.log_path, identity, self._resume)
        if self.replay_log:
            self._count_buffer_rows(buffer)

    def _count_buffer_rows(self, buffer: Any) -> None:
        """Line the run's row count up with the buffer. A resumed buffer must match its log.
        A new run's model may hold rows already (trained before this callback came): those
        go into the first save, oldest first, as rows ``pos .. pos + buffer_size`` when the
        buffer has wrapped (so that row ``n`` sits at buffer index ``n % buffer_size``)."""
        size = buffer.buffer_size
        if self._resume is None:
            self._rows_logged = buffer.pos if buffer.full else 0
            self._unlogged_rows = size if buffer.full else buffer.pos
            return
        self._rows_logged = lineage_size(self._lineage)
        if self._rows_logged % size != buffer.pos:
            raise UnsupportedSetupError(
                f"the replay buffer is at row {buffer.pos}, but the run's replay log holds "
                f"{self._rows_logged} rows; was the buffer changed between load_resumable() "
                "and learn()?"
            )

    # -- training ---------------------------------------------------------------------------

    def _on_rollout_start(self) -> None:
        if self._restore_randomness is not None:
            # After SB3's learn() has reset the action noise and before the first action.
            state, self._restore_randomness = self._restore_randomness, None
            if state.get(RNG_STATE) is not None:
                restore_rng(self.model.action_space, state[RNG_STATE])
            apply_noise(self.model.action_noise, state.get("action_noise"))
        if not actor_is_finite(self.model):
            self._diverged(["actor"])
        super()._on_rollout_start()

    def _on_episodes_complete(self, records: list[EpisodeRecord]) -> None:
        self._save(records)

    def _save(self, records: list[EpisodeRecord]) -> None:
        """Save at a consistent point after ``records`` ended (none: ``learn`` ended between
        episodes, and only ``latest.pth`` moves on)."""
        assert self.metadata is not None and self._writer is not None
        episode = self.episodes_completed
        targets = []
        if records:
            rewards = [record.reward for record in records]
            targets = [BEST_NAME] if max(rewards) > self.best_reward else []
            self.best_reward = max(self.best_reward, *rewards)
            if episode // self.save_every > records[0].episode // self.save_every:
                targets.append(periodic_name(episode))
        replay = self._new_replay_rows()
        wall_time = self._wall_time_offset + time.monotonic() - self._started
        exact_state = {
            RNG_STATE: capture_rng(self.model.action_space, cuda=self.model.device.type == "cuda"),
            ENV_STATE: capture_env_state(self.training_env) if self._env_protocol else None,
            REPLAY: {"lineage": self._lineage} if self.replay_log else None,
        }
        progress = Progress(episode, int(self.num_timesteps), self.best_reward, wall_time)
        checkpoint = build_checkpoint(self.model, progress, self.metadata, exact_state)
        diverged = non_finite_parts(checkpoint[MODEL])
        if diverged:
            self._diverged(diverged)
        assert self._tensorboard is not None
        self._tensorboard.write_episodes(records)
        rows = [record.csv_row() for record in records]
        self._writer.submit(functools.partial(self._write, rows, replay, checkpoint, targets))
        self.last_saved_step = int(self.num_timesteps)
        self.last_saved_episode = episode

    def _diverged(self, parts: list[str]) -> None:
        """Stop: the weights went non-finite. Every earlier save is finished and kept; the
        episodes since the last one are not saved."""
        self._pending.clear()
        self.close()
        latest = self.save_path / LATEST_NAME
        raise TrainingDivergedError(
            f"training diverged at global_step {self.num_timesteps}: NaN or infinite values "
            f"in {', '.join(parts)}",
            checkpoint=latest if latest.exists() else None,
        )

    def _new_replay_rows(self) -> tuple[int, Rows] | None:
        """Copy the rows added since the last save and extend the lineage over them."""
        steps = int(self.model.num_timesteps) - self._timesteps_at_save
        self._timesteps_at_save = int(self.model.num_timesteps)
        if not self.replay_log:
            return None
        new = steps // self.training_env.num_envs + self._unlogged_rows
        self._unlogged_rows = 0
        if not new:
            return None
        buffer = self.model.replay_buffer
        count = self._rows_logged + new
        # Rows overwritten before this save (more than the buffer holds) are not needed by
        # any resume: each one reads only the newest buffer_size rows of its lineage.
        kept = min(new, buffer.buffer_size)
        rows = rows_since(buffer, count, kept)
        self._lineage = extend_lineage(
            self._lineage, self.run_name, self._run_id, count - kept, count
        )
        self._rows_logged = count
        return count - kept, rows

    def _write(
        self,
        csv_rows: list[list[Any]],
        replay: tuple[int, Rows] | None,
        checkpoint: dict[str, Any],
        targets: list[str],
    ) -> None:
        """One save, in the order that keeps every file consistent: the CSV rows, the replay
        segment the checkpoint refers to, ``latest.pth``, then its copies."""
        assert self._csv is not None
        if csv_rows:
            self._csv.append(csv_rows)
        if replay is not None:
            ReplayLog(self.save_path.parent, self.run_name, self._run_id).append(*replay)
        latest = self.save_path / LATEST_NAME
        save_checkpoint(checkpoint, latest)
        for name in targets:
            atomic_copy(latest, self.save_path / name)
        if self.keep_last is not None and any(name != BEST_NAME for name in targets):
            keep_last_periodic(self.save_path, self.keep_last)

    def _on_episodes_discarded(self, records: list[EpisodeRecord]) -> None:
        if self.verbose >= 1:
            print(
                f"learn() stopped before episode{'s' if len(records) > 1 else ''} "
                f"{', '.join(str(r.episode) for r in records)} reached a point where it can be "
                f"saved; run {self.run_name} stays at episode {self.episodes_completed} "
                "(a resume replays the discarded episodes exactly)"
            )

    def _on_training_end(self) -> None:
        try:
            at_consistent_point = self._rollout_ran_to_end
            super()._on_training_end()
            if at_consistent_point and self.model.num_timesteps > self._timesteps_at_save:
                self._save([])
            if self._writer is not None:
                self._writer.flush()
        finally:
            self.close()

    def close(self) -> None:
        """Finish the pending writes and release the run's files and lock (idempotent; runs
        when ``learn`` ends)."""
        writer, self._writer = self._writer, None
        try:
            if writer is not None:
                writer.close()
        finally:
            for log in (self._csv, self._tensorboard):
                if log is not None:
                    log.close()
            self._csv = self._tensorboard = None
            if self._lock is not None:
                self._lock.release()
                self._lock = None


def _now() -> str:
    return datetime.now().isoformat(timespec="seconds")
