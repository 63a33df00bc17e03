"""SB3 callbacks that act once per episode: checkpoints, the CSV log, TensorBoard scalars.

They work in any SB3 off-policy script (``model.learn(..., callback=[...])``) with a
``Monitor``-wrapped env. An episode's end is seen in ``_on_step`` (``self.locals["dones"]``),
but its files are written at the next *consistent point*: the start of the next rollout, or
the end of training. By then SB3 has stored the episode's last transition in the replay
buffer and done the gradient step that follows it (``collect_rollouts`` calls ``on_step``
before both), so a checkpoint holds exactly the state an uninterrupted run would continue
from.
"""

from __future__ import annotations

import csv
import functools
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback

from robot6_sb3.atomic import atomic_copy
from robot6_sb3.background_writer import BackgroundWriter
from robot6_sb3.checkpoint import Progress, build_checkpoint, save_checkpoint
from robot6_sb3.errors import CheckpointWriteError
from robot6_sb3.layout import (
    BEST_NAME,
    CSV_COLUMNS,
    ENV_STATE,
    LATEST_NAME,
    REPLAY,
    RNG_STATE,
    periodic_name,
)
from robot6_sb3.replay_log import (
    ReplayLog,
    Transitions,
    extend_lineage,
    lineage_size,
    rows_since,
)
from robot6_sb3.rng import capture_rng


@dataclass(frozen=True)
class EpisodeRecord:
    """One finished episode, as the CSV and TensorBoard report it."""

    episode: int
    """0-based index over the whole run."""
    global_step: int
    """SB3's ``num_timesteps`` at the episode's last step."""
    reward: float
    length: int
    success: bool | None
    distance: float | None
    """Final distance to the target in meters, when the env reports ``info["distance"]``."""

    def csv_row(self) -> list[Any]:
        success = "" if self.success is None else int(self.success)
        distance = "" if self.distance is None else self.distance
        return [self.episode, self.global_step, self.reward, self.length, success, distance]


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


class EpisodeEndCallback(BaseCallback):
    """Base class: finds episode ends and hands them to :meth:`_on_episodes_complete` at the
    next consistent point.

    :param start_episode: index of the first episode this callback sees (continues a run)
    :param verbose: verbosity level: 0 no output, 1 info messages
    """

    def __init__(self, start_episode: int = 0, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.start_episode = start_episode
        self.episodes_seen = 0
        self._pending: list[EpisodeRecord] = []

    def _on_step(self) -> bool:
        for index, done in enumerate(self.locals["dones"]):
            if done:
                record = self._record(self.locals["infos"][index])
                self.episodes_seen += 1
                self._pending.append(record)
                self._on_episode_end(record)
        return True

    def _record(self, info: dict[str, Any]) -> EpisodeRecord:
        episode = info.get("episode")
        if episode is None:
            raise RuntimeError(
                f"{type(self).__name__} needs the env wrapped in stable_baselines3's Monitor "
                "(info['episode'] is missing at an episode end)"
            )
        success = info.get("is_success")
        distance = info.get("distance")
        return EpisodeRecord(
            episode=self.start_episode + self.episodes_seen,
            global_step=int(self.num_timesteps),
            reward=float(episode["r"]),
            length=int(episode["l"]),
            success=None if success is None else bool(success),
            distance=None if distance is None else float(distance),
        )

    def _on_rollout_start(self) -> None:
        self._complete_pending()

    def _on_training_end(self) -> None:
        # learn() also ends when a callback stops it mid-step; then the episode's last
        # transition never reached the buffer and its episode is not complete.
        if all(self.model._last_episode_starts):
            self._complete_pending()
        self._pending.clear()

    def _complete_pending(self) -> None:
        if self._pending:
            records, self._pending = self._pending, []
            self._on_episodes_complete(records)

    def _on_episode_end(self, record: EpisodeRecord) -> None:
        """Called in ``on_step`` when an episode ends (before its consistent point)."""

    def _on_episodes_complete(self, records: list[EpisodeRecord]) -> None:
        """Called at the consistent point after the episodes in ``records`` ended."""


class CSVLoggerCallback(EpisodeEndCallback):
    """Appends one row per episode (``episode,global_step,episode_reward,...``) to a CSV file,
    flushed and fsynced per row so the file never lags the checkpoint written after it.

    :param csv_path: the CSV file; created with a header when missing or empty
    :param start_episode: index of the first episode this callback sees
    :param writer: appends on this background writer (give the checkpoint callback the same
        one, listed after this callback, so every row is on disk before its checkpoint);
        ``None`` appends on the training thread
    :param verbose: verbosity level
    """

    def __init__(
        self,
        csv_path: Path,
        start_episode: int = 0,
        writer: BackgroundWriter | None = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(start_episode, verbose)
        self.csv_path = Path(csv_path)
        self._writer = writer
        self._file: Any = None

    def _init_callback(self) -> None:
        self.csv_path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.csv_path.exists() or self.csv_path.stat().st_size == 0
        try:
            self._file = open(self.csv_path, "a", newline="")  # noqa: SIM115 (open for the whole run)
        except OSError as exc:
            raise CheckpointWriteError(
                f"could not open {self.csv_path}: {exc.strerror or exc}"
            ) from exc
        self._csv = csv.writer(self._file)
        if new:
            self._append([list(CSV_COLUMNS)])

    def _on_episodes_complete(self, records: list[EpisodeRecord]) -> None:
        _run(self._writer, functools.partial(self._append, [r.csv_row() for r in records]))

    def _append(self, rows: list[list[Any]]) -> None:
        try:
            self._csv.writerows(rows)
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as exc:
            raise CheckpointWriteError(
                f"could not write {self.csv_path}: {exc.strerror or exc}"
            ) from exc

    def _on_training_end(self) -> None:
        super()._on_training_end()
        if self._writer is not None:
            self._writer.flush()
        if self._file is not None:
            self._file.close()
            self._file = None


class TensorBoardEpisodeCallback(EpisodeEndCallback):
    """Records each episode's reward, length, success and final distance through SB3's
    logger (``episode/*``); they are written with SB3's own dump at that episode's
    ``global_step`` (use ``log_interval=1`` to get every episode)."""

    def _on_episode_end(self, record: EpisodeRecord) -> None:
        self.logger.record("episode/reward", record.reward)
        self.logger.record("episode/length", record.length)
        if record.success is not None:
            self.logger.record("episode/success", float(record.success))
        if record.distance is not None:
            self.logger.record("episode/final_distance", record.distance)


class EpisodeCheckpointCallback(EpisodeEndCallback):
    """Writes ``latest.pth`` after every episode, ``best.pth`` when an episode beats the best
    reward so far, and ``ckpt_ep_N.pth`` every ``save_freq`` completed episodes.

    With a ``replay_log``, each save first appends the transitions added since the previous
    save, and the checkpoint records the replay lineage, RNG states and env state, so that a
    resume continues bitwise like the uninterrupted run.

    :param save_path: the run's checkpoint folder
    :param save_freq: completed episodes between two ``ckpt_ep_N.pth`` files
    :param metadata: stored in every checkpoint (algo, env, hyperparameters, run name, ...)
    :param best_reward: best episode reward so far (``-inf`` for a new run)
    :param start_episode: episodes completed before this callback starts
    :param replay_log: the run's transition log, or ``None`` to save no buffer (not exact)
    :param lineage: replay ranges covering the transitions before this callback starts
    :param on_save: called with each saved file's path (for ``--keep-last`` style pruning)
    :param wall_time_offset: seconds of training before this callback starts (earlier sessions)
    :param writer: writes the files on a background thread so training does not wait for the
        disk (order and error reporting are kept; ``learn`` returns after the last write);
        ``None`` writes on the training thread
    :param verbose: verbosity level
    """

    def __init__(
        self,
        save_path: Path,
        save_freq: int = 50,
        metadata: dict[str, Any] | None = None,
        best_reward: float = -math.inf,
        start_episode: int = 0,
        replay_log: ReplayLog | None = None,
        lineage: list[dict[str, Any]] | None = None,
        on_save: Callable[[Path], None] | None = None,
        wall_time_offset: float = 0.0,
        writer: BackgroundWriter | None = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(start_episode, verbose)
        if save_freq < 1:
            raise ValueError(f"save_freq must be >= 1, got {save_freq}")
        self.save_path = Path(save_path)
        self.save_freq = save_freq
        self.metadata = metadata or {}
        self.best_reward = best_reward
        self.replay_log = replay_log
        self.lineage = list(lineage or [])
        self.on_save = on_save
        self.last_saved_episode = start_episode
        self.last_saved_step: int | None = None
        """``global_step`` of the newest save (``None`` before the first one)."""
        self._saved_steps: int | None = None
        self.wall_time_offset = wall_time_offset
        self._started = time.monotonic()
        self._writer = writer

    def _init_callback(self) -> None:
        self.save_path.mkdir(parents=True, exist_ok=True)
        self._saved_steps = int(self.model.num_timesteps)
        self._started = time.monotonic()

    def _on_episodes_complete(self, records: list[EpisodeRecord]) -> None:
        episode = records[-1].episode + 1
        improved = max(record.reward for record in records) > self.best_reward
        self.best_reward = max(self.best_reward, *(record.reward for record in records))
        targets = [BEST_NAME] if improved else []
        targets += [
            periodic_name(r.episode + 1) for r in records if (r.episode + 1) % self.save_freq == 0
        ]
        replay_rows = self._new_replay_rows()
        checkpoint = self._snapshot(episode)
        _run(self._writer, functools.partial(self._write, checkpoint, replay_rows, targets))
        self.last_saved_episode = episode
        self.last_saved_step = int(self.num_timesteps)

    def _write(
        self,
        checkpoint: dict[str, Any],
        replay_rows: tuple[int, Transitions] | None,
        targets: list[str],
    ) -> None:
        """Write one save, in the order that keeps every file consistent: the replay segment
        the checkpoint refers to, then ``latest.pth``, then its copies."""
        if replay_rows is not None and self.replay_log is not None:
            self.replay_log.append(*replay_rows)
        latest = self.save_path / LATEST_NAME
        save_checkpoint(checkpoint, latest)
        for name in targets:
            atomic_copy(latest, self.save_path / name)
        if self.on_save is not None:
            for path in (latest, *(self.save_path / name for name in targets)):
                self.on_save(path)

    def _on_training_end(self) -> None:
        super()._on_training_end()
        if self._writer is not None:
            self._writer.flush()

    def _snapshot(self, episode: int) -> dict[str, Any]:
        wall_time = self.wall_time_offset + time.monotonic() - self._started
        progress = Progress(episode, int(self.num_timesteps), self.best_reward, wall_time)
        extra: dict[str, Any] = {
            RNG_STATE: capture_rng(self.model.action_space, cuda=self.model.device.type == "cuda"),
            REPLAY: None if self.replay_log is None else {"lineage": self.lineage},
        }
        env = self.training_env.envs[0] if hasattr(self.training_env, "envs") else None
        if env is not None and hasattr(env.unwrapped, "get_state"):
            extra[ENV_STATE] = env.unwrapped.get_state()
        return build_checkpoint(self.model, progress, self.metadata, extra)

    def _new_replay_rows(self) -> tuple[int, Transitions] | None:
        """Copy the transitions added since the last save and extend the lineage over them."""
        assert self._saved_steps is not None
        new = int(self.num_timesteps) - self._saved_steps
        self._saved_steps = int(self.num_timesteps)
        if self.replay_log is None or not new:
            return None
        count = lineage_size(self.lineage)
        buffer = self.model.replay_buffer
        if (count + new) % buffer.buffer_size != buffer.pos:
            raise RuntimeError(
                f"the replay buffer is at position {buffer.pos}, which does not follow "
                f"{count + new} logged transitions; was it changed outside learn()?"
            )
        rows = rows_since(buffer, count + new, new)
        self.lineage = extend_lineage(self.lineage, self.replay_log.run_name, count + new)
        return count, rows


def _run(writer: BackgroundWriter | None, job: Callable[[], None]) -> None:
    """Run ``job`` on ``writer``'s thread, or right here when there is none."""
    if writer is None:
        job()
    else:
        writer.submit(job)
