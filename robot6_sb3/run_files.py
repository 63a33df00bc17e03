"""A run's open files while it trains: its lock, ``training.csv``, TensorBoard events and the
one background thread that writes them, in order, with the checkpoints.

One writer per run (SPEC 7): the lock is taken before anything in the folders is touched and
held until the files are closed. Every write happens on the writer thread in submission
order, so no file runs ahead of the checkpoint that covers it; a failed write is raised on
the training thread at the next submit or flush.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stable_baselines3.common.logger import Logger

from robot6_sb3.atomic import atomic_copy, remove_temp_files
from robot6_sb3.background_writer import BackgroundWriter
from robot6_sb3.checkpoint import save_checkpoint
from robot6_sb3.episode_logs import CsvLog, TensorBoardLog
from robot6_sb3.episodes import EpisodeRecord
from robot6_sb3.layout import (
    CSV_NAME,
    EVAL_COLUMNS,
    EVAL_CSV_NAME,
    LATEST_NAME,
    LOCK_NAME,
    REPLAY_DIR_NAME,
    periodic_episode,
)
from robot6_sb3.pruning import keep_last_periodic
from robot6_sb3.replay_log import ReplayLog
from robot6_sb3.replay_rows import Rows
from robot6_sb3.run_lock import RunLock


@dataclass(frozen=True)
class SaveJob:
    """What one save writes, on the writer thread."""

    csv_rows: list[list[Any]]
    eval_row: list[Any] | None
    replay: tuple[ReplayLog, int, Rows] | None
    """The run's replay log, the number of the first new row, and the rows."""
    checkpoint: dict[str, Any]
    targets: list[str]
    """Copies of ``latest.pth`` to make (best.pth, ckpt_ep_N.pth, best_eval.pth)."""
    keep_last: int | None
    """Keep only this many newest ``ckpt_ep_N.pth`` after a new one."""


class RunFiles:
    """The files of the run in ``save_path`` (checkpoints) and ``log_path`` (logs)."""

    def __init__(self, save_path: Path, log_path: Path) -> None:
        self.save_path = Path(save_path)
        self.log_path = Path(log_path)
        self.csv: CsvLog | None = None
        self.eval_csv: CsvLog | None = None
        self.tensorboard: TensorBoardLog | None = None
        self._lock: RunLock | None = None
        self._writer: BackgroundWriter | None = None

    @property
    def locked(self) -> bool:
        return self._lock is not None

    def lock(self) -> None:
        """Take the run's lock (creating its checkpoint folder), unless held already.

        :raises RunLockedError: when another process writes the run
        """
        if self._lock is None:
            self.save_path.mkdir(parents=True, exist_ok=True)
            lock = RunLock(self.save_path / LOCK_NAME)
            lock.acquire()
            self._lock = lock

    def open(
        self,
        logger: Logger,
        resumed_step: int | None,
        rebuilt: list[EpisodeRecord],
        evaluations: bool = False,
    ) -> None:
        """Open the CSVs, the TensorBoard events (also fed SB3's own scalars through
        ``logger``) and the writer thread.

        :param resumed_step: a continued run's checkpoint step: TensorBoard hides what a
            crash left after it
        :param rebuilt: episodes rebuilt for a deleted log folder, written to TensorBoard
            when it has no events left
        :param evaluations: also open ``evaluations.csv``
        """
        for folder in (self.save_path, self.save_path / REPLAY_DIR_NAME, self.log_path):
            if folder.is_dir():
                remove_temp_files(folder)  # what a crash mid-write left behind
        self.csv = CsvLog(self.log_path / CSV_NAME)
        self.csv.open()
        if evaluations:
            self.eval_csv = CsvLog(self.log_path / EVAL_CSV_NAME, EVAL_COLUMNS)
            self.eval_csv.open()
        had_events = any(self.log_path.glob("events.out.tfevents.*"))
        self.tensorboard = TensorBoardLog(self.log_path, resumed_step)
        self.tensorboard.attach(logger)
        if rebuilt and not had_events:
            self.tensorboard.write_episodes(rebuilt)
        self._writer = BackgroundWriter()

    def append_rows(self, rows: list[list[object]], eval_row: list[object] | None) -> None:
        """Append episode rows to ``training.csv`` and an evaluation's to ``evaluations.csv``
        (on the writer thread, before the checkpoint that covers them)."""
        if rows and self.csv is not None:
            self.csv.append(rows)
        if eval_row is not None and self.eval_csv is not None:
            self.eval_csv.append([eval_row])

    def submit_save(self, job: SaveJob) -> None:
        """Write ``job`` on the writer thread, after the saves before it."""
        self.submit(functools.partial(self._save, job))

    def _save(self, job: SaveJob) -> None:
        """One save, in the order that keeps every file consistent: the CSV rows, the replay
        segment the checkpoint refers to, ``latest.pth``, then its copies."""
        self.append_rows(job.csv_rows, job.eval_row)
        if job.replay is not None:
            replay_log, start, rows = job.replay
            replay_log.append(start, rows)
        latest = self.save_path / LATEST_NAME
        save_checkpoint(job.checkpoint, latest)
        for name in job.targets:
            atomic_copy(latest, self.save_path / name)
        if job.keep_last is not None and any(periodic_episode(name) for name in job.targets):
            keep_last_periodic(self.save_path, job.keep_last)

    def submit(self, job: Callable[[], None]) -> None:
        """Run ``job`` on the writer thread, after the jobs before it."""
        assert self._writer is not None, "submit before open"
        self._writer.submit(job)

    def flush(self) -> None:
        """Wait for every submitted job; raises the first error among them."""
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        """Finish the writes, close the logs and release the lock (idempotent)."""
        writer, self._writer = self._writer, None
        try:
            if writer is not None:
                writer.close()
        finally:
            for log in (self.csv, self.eval_csv, self.tensorboard):
                if log is not None:
                    log.close()
            self.csv = self.eval_csv = self.tensorboard = None
            if self._lock is not None:
                self._lock.release()
                self._lock = None
