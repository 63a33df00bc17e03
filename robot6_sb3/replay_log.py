"""An append-only log of a run's replay-buffer rows, so every checkpoint can restore exactly the
buffer it was taken with while each save writes only the newest rows.

A checkpoint records how many rows it covers and where they live (its *lineage*: a list of
``{"run", "run_id", "start", "stop"}`` ranges, oldest first). A forked run's lineage starts
with its parent's ranges up to the fork point, so it reads the parent's rows in place, never
copies the parent's future and never writes into the parent's folder.

On disk a run's own rows (see :mod:`robot6_sb3.replay_rows`) are segments
``replay/seg_<start>-<stop>.npz`` (row indices over the whole run, ``stop`` exclusive), each
written atomically and merged into larger ones from time to time so the folder stays small;
a reader takes whichever segments cover the range it needs. Every segment is checked when it
is read: a zip whose members carry their size and CRC-32, plus the ``run_id`` of the run
that wrote it, so a truncated, damaged or foreign segment is named, never used.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.buffers import ReplayBuffer

from robot6_sb3.atomic import atomic_write, fsync_dir
from robot6_sb3.errors import IncompatibleCheckpointError, ReplayHistoryError
from robot6_sb3.layout import REPLAY_DIR_NAME
from robot6_sb3.replay_rows import Rows, fill_buffer

SEGMENT_RE = re.compile(r"^seg_(\d{12})-(\d{12})\.npz$")
MERGE_THRESHOLD = 10_000
"""Merge the small segments once they hold this many rows together."""
RUN_ID = "run_id"
"""The member of a segment naming the run that wrote it."""
REMEDY = (
    "copy the run's whole folder (with its replay/ folder and those of its parents) back, or "
    "resume without the replay buffer (replay_log=False; the run then continues with an "
    "empty buffer, not exactly)"
)

Lineage = list[dict[str, Any]]


def segment_name(start: int, stop: int) -> str:
    return f"seg_{start:012d}-{stop:012d}.npz"


def _segments(directory: Path) -> list[tuple[int, int, Path]]:
    """``(start, stop, path)`` of every segment in ``directory``, by start then longest first."""
    found = []
    if directory.is_dir():
        for path in directory.iterdir():
            match = SEGMENT_RE.match(path.name)
            if match:
                found.append((int(match.group(1)), int(match.group(2)), path))
    return sorted(found, key=lambda seg: (seg[0], -seg[1]))


def _is_small(segment: tuple[int, int, Path]) -> bool:
    return segment[1] - segment[0] < MERGE_THRESHOLD


def _open_problem(path: Path, run_id: str | None) -> str | None:
    """Why the segment at ``path`` cannot serve run ``run_id``, from its zip directory and its
    run id alone (cheap: the rows' CRCs are checked when they are read)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if not data.files:
                return f"replay segment {path} is empty"
            if run_id is not None and RUN_ID in data.files and str(data[RUN_ID]) != run_id:
                return (
                    f"replay segment {path} was written by run id {data[RUN_ID]}, not by this "
                    f"run ({run_id}): it was copied from another run"
                )
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        return f"replay segment {path} is truncated or damaged ({type(exc).__name__}: {exc})"
    return None


def _read_segment(path: Path, run_id: str | None) -> Rows:
    """The rows of a segment, every member's CRC checked.

    :raises ReplayHistoryError: naming the segment when it is damaged or another run's
    """
    problem = _open_problem(path, run_id)
    if problem is None:
        try:
            with np.load(path, allow_pickle=False) as data:
                return {name: data[name] for name in data.files if name != RUN_ID}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
            problem = f"replay segment {path} is damaged ({type(exc).__name__}: {exc})"
    raise ReplayHistoryError(f"{problem}; {REMEDY}")


def _write_segment(path: Path, rows: Rows, run_id: str) -> None:
    arrays = {**rows, RUN_ID: np.array(run_id)}
    atomic_write(path, lambda handle: np.savez(handle, **arrays))


def _concat(parts: list[Rows]) -> Rows:
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


class ReplayLog:
    """The replay log of one run, in ``<checkpoints_root>/<run_name>/replay/``.

    :param checkpoints_root: the folder holding all run folders (lineage names runs in it)
    :param run_name: the run this log writes to
    :param run_id: the run's id, written into every segment
    """

    def __init__(self, checkpoints_root: Path, run_name: str, run_id: str) -> None:
        self.checkpoints_root = Path(checkpoints_root)
        self.run_name = run_name
        self.run_id = run_id
        self.directory = self.checkpoints_root / run_name / REPLAY_DIR_NAME
        self._small: list[tuple[int, int, Path]] | None = None
        """The small segments, known after the first append's one look at the folder (a save
        per episode would otherwise list a folder of up to 200 segments every time)."""

    def append(self, start: int, rows: Rows) -> None:
        """Store rows ``start .. start+len`` as one new segment, then merge if due."""
        count = len(rows["rewards"])
        if count == 0:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / segment_name(start, start + count)
        _write_segment(path, rows, self.run_id)
        if self._small is None:
            self._small = [seg for seg in _segments(self.directory) if _is_small(seg)]
        elif count < MERGE_THRESHOLD:
            self._small.append((start, start + count, path))
        self._merge_small_segments()

    def drop_after(self, stop: int) -> None:
        """Delete this run's rows from index ``stop`` on (writes a crash left behind)."""
        for start, end, path in _segments(self.directory):
            if end <= stop:
                continue
            problem = _open_problem(path, self.run_id)
            if problem and "another run" in problem:
                raise ReplayHistoryError(f"{problem}; it is left as it is")
            if start < stop:
                rows = _read_segment(path, self.run_id)
                keep = {name: values[: stop - start] for name, values in rows.items()}
                _write_segment(self.directory / segment_name(start, stop), keep, self.run_id)
            path.unlink()
        if self.directory.is_dir():
            fsync_dir(self.directory)

    def _merge_small_segments(self) -> None:
        assert self._small is not None
        if sum(stop - start for start, stop, _ in self._small) < MERGE_THRESHOLD:
            return
        # Due: what the folder holds now decides (someone may have removed a segment).
        self._small = [seg for seg in _segments(self.directory) if _is_small(seg)]
        run: list[tuple[int, int, Path]] = []
        for seg in self._small:
            if run and seg[0] != run[-1][1]:
                run = []
            run.append(seg)
        if not run or run[-1][1] - run[0][0] < MERGE_THRESHOLD:
            return
        merged = _concat([_read_segment(path, self.run_id) for _, _, path in run])
        _write_segment(self.directory / segment_name(run[0][0], run[-1][1]), merged, self.run_id)
        for _, _, path in run:
            path.unlink()
        fsync_dir(self.directory)
        self._small = [seg for seg in self._small if seg not in run]


def _covering(directory: Path, start: int, stop: int) -> tuple[list[tuple[int, int, Path]], int]:
    """The segments that cover rows ``start .. stop``, and how far they reach."""
    chosen, position = [], start
    for seg_start, seg_stop, path in _segments(directory):
        if position >= stop:
            break
        if seg_start <= position < seg_stop:
            chosen.append((seg_start, seg_stop, path))
            position = seg_stop
    return chosen, min(position, stop)


def _missing(directory: Path, reached: int, stop: int) -> str:
    """The rows missing from ``reached`` on: up to the next segment, or to ``stop``."""
    after = [seg_start for seg_start, _, _ in _segments(directory) if reached < seg_start < stop]
    return f"{reached}..{min(after, default=stop)}"


def _needed(lineage: Lineage, keep: int) -> Iterable[tuple[dict[str, Any], int, int]]:
    """Each lineage range and the part of it a buffer of ``keep`` rows reads."""
    begin = max(0, lineage_size(lineage) - keep)
    for source in lineage:
        start, stop = max(int(source["start"]), begin), int(source["stop"])
        if start < stop:
            yield source, start, stop


def replay_problem(checkpoints_root: Path, lineage: Lineage, keep: int) -> str | None:
    """Why the rows a resume needs cannot be read (a message with the remedy), or ``None``.

    A resume reads the newest ``keep`` rows (the buffer size) of the lineage; this checks that
    segments cover them, open as whole zips and belong to the runs the lineage names.
    """
    for source, start, stop in _needed(lineage, keep):
        directory = Path(checkpoints_root) / str(source["run"]) / REPLAY_DIR_NAME
        segments, reached = _covering(directory, start, stop)
        if reached < stop:
            return (
                f"the replay log of run {source['run']} lacks rows "
                f"{_missing(directory, reached, stop)} (looked in "
                f"{directory}; was the run pruned or moved?); {REMEDY}"
            )
        for _, _, path in segments:
            problem = _open_problem(path, source.get("run_id"))
            if problem:
                return f"{problem}; {REMEDY}"
    return None


def read_lineage(checkpoints_root: Path, lineage: Lineage, start: int) -> Rows:
    """Rows from row ``start`` to the end of ``lineage``.

    :raises ReplayHistoryError: for a missing, damaged or foreign segment
    """
    parts = []
    for source, begin, end in _needed(lineage, lineage_size(lineage) - start):
        directory = Path(checkpoints_root) / str(source["run"]) / REPLAY_DIR_NAME
        segments, reached = _covering(directory, begin, end)
        if reached < end:
            raise ReplayHistoryError(
                f"the replay log of run {source['run']} lacks rows "
                f"{_missing(directory, reached, end)} (looked in "
                f"{directory}); {REMEDY}"
            )
        for seg_start, seg_stop, path in segments:
            rows = _read_segment(path, source.get("run_id"))
            low, high = max(begin, seg_start), min(end, seg_stop)
            parts.append({k: v[low - seg_start : high - seg_start] for k, v in rows.items()})
    if not parts:
        raise ReplayHistoryError("the checkpoint's replay lineage is empty")
    return _concat(parts)


def extend_lineage(lineage: Lineage, run_name: str, run_id: str, start: int, stop: int) -> Lineage:
    """``lineage`` with this run's own range grown to end at ``stop``, or a new range
    ``start .. stop`` added (``start`` is where its rows begin: the end of the previous range,
    or later when older rows were already overwritten in the buffer)."""
    result = [dict(source) for source in lineage]
    if result and result[-1]["run"] == run_name and result[-1].get("run_id", run_id) == run_id:
        result[-1]["stop"] = stop
    else:
        begin = max(start, result[-1]["stop"]) if result else start
        result.append({"run": run_name, "run_id": run_id, "start": begin, "stop": stop})
    return result


def lineage_size(lineage: Lineage) -> int:
    return int(lineage[-1]["stop"]) if lineage else 0


def load_buffer(buffer: ReplayBuffer, checkpoints_root: Path, lineage: Lineage) -> int:
    """Rebuild ``buffer`` from the newest ``buffer_size`` rows of ``lineage``; returns the count.

    :raises ReplayHistoryError: for a missing, damaged or foreign segment
    :raises IncompatibleCheckpointError: when the rows do not fit the buffer
    """
    count = lineage_size(lineage)
    if count:
        rows = read_lineage(checkpoints_root, lineage, max(0, count - buffer.buffer_size))
        try:
            fill_buffer(buffer, rows, count)
        except ValueError as exc:
            raise IncompatibleCheckpointError(
                f"the replay log does not fit this model: {exc}"
            ) from None
    return count
