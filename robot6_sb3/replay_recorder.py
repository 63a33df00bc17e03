"""Which replay-buffer rows each save appends to the run's replay log, and the lineage that
covers them: the bookkeeping between SB3's buffer (rows at ``pos``, wrapping around) and the
log (rows numbered over the whole run)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stable_baselines3.common.buffers import ReplayBuffer

from robot6_sb3.errors import UnsupportedSetupError
from robot6_sb3.replay_log import Lineage, ReplayLog, extend_lineage, lineage_size
from robot6_sb3.replay_rows import Rows, rows_since


class ReplayRecorder:
    """Copies the rows added since the previous save, for the run ``run_name`` / ``run_id``.

    :param lineage: the rows the run's log covers already (a resumed run's checkpoint's)
    """

    def __init__(self, run_name: str, run_id: str, lineage: Lineage) -> None:
        self.run_name = run_name
        self.run_id = run_id
        self.lineage = [dict(source) for source in lineage]
        self._logged = lineage_size(self.lineage)
        self._unlogged = 0
        self._log: ReplayLog | None = None

    def adopt(self, buffer: ReplayBuffer, resumed: bool) -> None:
        """Line the run's row count up with ``buffer`` when the run starts.

        A resumed buffer must match its log. A new run's model may hold rows already
        (trained before the callback came): those go into the first save, oldest first, as
        rows ``pos .. pos + buffer_size`` when the buffer has wrapped, so that row ``n`` sits
        at buffer index ``n % buffer_size``.

        :raises UnsupportedSetupError: when a resumed buffer does not match its log
        """
        size = buffer.buffer_size
        if not resumed:
            self._logged = buffer.pos if buffer.full else 0
            self._unlogged = size if buffer.full else buffer.pos
        elif self._logged % size != buffer.pos:
            raise UnsupportedSetupError(
                f"the replay buffer is at row {buffer.pos}, but the run's replay log holds "
                f"{self._logged} rows; was the buffer changed between load_resumable() and learn()?"
            )

    def new_rows(self, buffer: ReplayBuffer, steps: int) -> tuple[int, Rows] | None:
        """The first row number and a copy of the rows added in ``steps`` VecEnv steps (one row
        each), or ``None`` when there are none; the lineage is extended over them."""
        new = steps + self._unlogged
        self._unlogged = 0
        if not new:
            return None
        count = self._logged + new
        # Rows overwritten before this save (more than the buffer holds) are not needed by
        # any resume: each one reads only the newest buffer_size rows of its lineage.
        kept = min(new, buffer.buffer_size)
        rows = rows_since(buffer, count, kept)
        self.lineage = extend_lineage(self.lineage, self.run_name, self.run_id, count - kept, count)
        self._logged = count
        return count - kept, rows

    def log(self, root: Any) -> ReplayLog:
        """The run's replay log in ``root`` (the folder holding the run folders)."""
        if self._log is None or self._log.checkpoints_root != Path(root):
            self._log = ReplayLog(root, self.run_name, self.run_id)
        return self._log
