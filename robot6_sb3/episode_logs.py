"""A run's per-episode logs: ``training.csv`` (one row per episode, SPEC 4) and TensorBoard.

Both receive an episode when it reaches its consistent point, in the same order as the
checkpoints, so neither can run ahead of ``latest.pth`` for long: the CSV row is fsynced
before the checkpoint that covers it is written, and a resume drops what a crash left beyond
the checkpoint (CSV rows by episode, TensorBoard events by step).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

from stable_baselines3.common.logger import Logger, TensorBoardOutputFormat
from tensorboard.compat.proto.event_pb2 import Event, SessionLog

from robot6_sb3.episodes import EpisodeRecord
from robot6_sb3.errors import CheckpointWriteError
from robot6_sb3.layout import CSV_COLUMNS


class CsvLog:
    """Appends rows to a run's ``training.csv``, flushed and fsynced per call.

    :param path: the CSV file; created with the header when missing or empty
    :param columns: the header
    """

    def __init__(self, path: Path, columns: tuple[str, ...] = CSV_COLUMNS) -> None:
        self.path = Path(path)
        self.columns = columns
        self._file: Any = None

    def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            new = not self.path.exists() or self.path.stat().st_size == 0
            self._file = open(self.path, "a", newline="")  # noqa: SIM115 (open for the whole run)
        except OSError as exc:
            raise CheckpointWriteError(
                f"could not open {self.path}: {exc.strerror or exc}"
            ) from exc
        self._csv = csv.writer(self._file)
        if new:
            self.append([list(self.columns)])

    def append(self, rows: list[list[Any]]) -> None:
        try:
            self._csv.writerows(rows)
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as exc:
            raise CheckpointWriteError(
                f"could not write {self.path}: {exc.strerror or exc}"
            ) from exc

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class TensorBoardLog:
    """TensorBoard events written directly into a run's log folder (no ``SAC_1`` subfolder):
    ``episode/*`` for every episode at its ``global_step``, and SB3's own ``rollout/*`` and
    ``train/*`` scalars whenever SB3 dumps its logger.

    :param log_dir: the run's log folder
    :param resumed_step: the checkpoint's global_step when continuing a run: TensorBoard then
        hides the earlier sessions' events after it (written before a crash or stop, but not
        covered by the checkpoint), so no step appears twice or goes backwards
    """

    def __init__(self, log_dir: Path, resumed_step: int | None = None) -> None:
        self.output = TensorBoardOutputFormat(str(log_dir))
        if resumed_step is not None:
            self.output.writer.file_writer.add_event(
                Event(step=resumed_step + 1, session_log=SessionLog(status=SessionLog.START))
            )
        self._logger: Logger | None = None

    def attach(self, logger: Logger) -> None:
        """Also receive what SB3 logs through ``logger``."""
        self.detach()
        logger.output_formats.append(self.output)
        self._logger = logger

    def detach(self) -> None:
        if self._logger is not None and self.output in self._logger.output_formats:
            self._logger.output_formats.remove(self.output)
        self._logger = None

    def write_episodes(self, records: list[EpisodeRecord]) -> None:
        for record in records:
            values: dict[str, Any] = {
                "episode/reward": record.reward,
                "episode/length": record.length,
            }
            if record.success is not None:
                values["episode/success"] = float(record.success)
            if record.distance is not None:
                values["episode/final_distance"] = record.distance
            self.output.write(values, dict.fromkeys(values), step=record.global_step)

    def write_evaluation(self, row: dict[str, Any]) -> None:
        """``eval/*`` of one periodic evaluation, at its ``global_step``."""
        values = {
            f"eval/{name}": row[name] for name in row if name not in ("episode", "global_step")
        }
        self.output.write(values, dict.fromkeys(values), step=int(row["global_step"]))

    def close(self) -> None:
        self.detach()
        self.output.close()
