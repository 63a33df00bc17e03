"""An append-only log of a run's replay-buffer transitions, so every checkpoint can restore
exactly the buffer it was taken with while each save writes only the newest episode.

A checkpoint records how many transitions it covers and where they live (its *lineage*: a
list of ``{"run", "start", "stop"}`` ranges, oldest first). A forked run's lineage starts
with its parent's ranges up to the fork point, so it reads the parent's transitions in place,
never copies the parent's future and never writes into the parent's folder.

On disk a run's own rows (see :mod:`robot6_sb3.replay_rows`) are segments
``replay/seg_<start>-<stop>.npz`` (row indices over the whole run, ``stop`` exclusive), each
written atomically. Small per-episode segments
are merged into larger ones from time to time so the folder stays small; a reader takes
whichever segments cover the range it needs.
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
from robot6_sb3.errors import CheckpointError
from robot6_sb3.layout import REPLAY_DIR_NAME
from robot6_sb3.replay_rows import Rows, fill_buffer

SEGMENT_RE = re.compile(r"^seg_(\d{12})-(\d{12})\.npz$")
MERGE_THRESHOLD = 10_000
"""Merge the small segments once they hold this many transitions together."""


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


def _read_segment(path: Path) -> Rows:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        raise CheckpointError(f"replay log segment {path} is unreadable ({exc})") from exc


def _write_segment(path: Path, rows: Rows) -> None:
    atomic_write(path, lambda handle: np.savez(handle, **rows))


def _concat(parts: list[Rows]) -> Rows:
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


class ReplayLog:
    """The transition log of one run, in ``<checkpoint_dir>/replay/``.

    :param checkpoints_root: the folder holding all run folders (lineage names runs in it)
    :param run_name: the run this log writes to
    """

    def __init__(self, checkpoints_root: Path, run_name: str) -> None:
        self.checkpoints_root = Path(checkpoints_root)
        self.run_name = run_name
        self.directory = self.checkpoints_root / run_name / REPLAY_DIR_NAME

    def append(self, start: int, rows: Rows) -> None:
        """Store transitions ``start .. start+len`` as one new segment, then merge if due."""
        count = len(rows["rewards"])
        if count == 0:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        _write_segment(self.directory / segment_name(start, start + count), rows)
        self._merge_small_segments()

    def drop_after(self, stop: int) -> None:
        """Delete this run's transitions from index ``stop`` on (writes a crash left behind)."""
        for start, end, path in _segments(self.directory):
            if end <= stop:
                continue
            if start < stop:
                rows = _read_segment(path)
                keep = {name: values[: stop - start] for name, values in rows.items()}
                _write_segment(self.directory / segment_name(start, stop), keep)
            path.unlink()
        if self.directory.is_dir():
            fsync_dir(self.directory)

    def _merge_small_segments(self) -> None:
        small = [seg for seg in _segments(self.directory) if seg[1] - seg[0] < MERGE_THRESHOLD]
        run: list[tuple[int, int, Path]] = []
        for seg in small:
            if run and seg[0] != run[-1][1]:
                run = []
            run.append(seg)
        if not run or run[-1][1] - run[0][0] < MERGE_THRESHOLD:
            return
        merged = _concat([_read_segment(path) for _, _, path in run])
        _write_segment(self.directory / segment_name(run[0][0], run[-1][1]), merged)
        for _, _, path in run:
            path.unlink()
        fsync_dir(self.directory)


def read_range(checkpoints_root: Path, run_name: str, start: int, stop: int) -> Rows:
    """Rows ``start .. stop`` of ``run_name``'s own log."""
    directory = Path(checkpoints_root) / run_name / REPLAY_DIR_NAME
    parts: list[Rows] = []
    position = start
    for seg_start, seg_stop, path in _segments(directory):
        if position >= stop:
            break
        if seg_start <= position < seg_stop:
            rows = _read_segment(path)
            upto = min(seg_stop, stop)
            parts.append({k: v[position - seg_start : upto - seg_start] for k, v in rows.items()})
            position = upto
    if position < stop:
        raise CheckpointError(
            f"the replay log of run {run_name} lacks transitions {position}..{stop} "
            f"(looked in {directory}); resume with --no-buffer to continue without them"
        )
    return _concat(parts)


def missing_transitions(
    checkpoints_root: Path, lineage: list[dict[str, Any]], keep: int
) -> str | None:
    """Which transitions a resume would need but the log lacks (a message), or ``None``.

    A resume reads the newest ``keep`` (buffer size) transitions of the lineage; this checks
    that segment files cover them (by their names, without reading them).

    :param checkpoints_root: the folder holding the run folders the lineage names
    :param lineage: the checkpoint's ``replay.lineage``
    :param keep: the replay buffer size
    """
    begin = max(0, lineage_size(lineage) - keep)
    for source in lineage:
        position, stop = max(int(source["start"]), begin), int(source["stop"])
        directory = Path(checkpoints_root) / str(source["run"]) / REPLAY_DIR_NAME
        for start, end, _ in _segments(directory):
            if start <= position < end:
                position = end
        if position < stop:
            return (
                f"the replay log of run {source['run']} lacks transitions {position}..{stop} "
                f"(looked in {directory}; was the run pruned?)"
            )
    return None


def read_lineage(checkpoints_root: Path, lineage: Iterable[dict[str, Any]], start: int) -> Rows:
    """Rows from global index ``start`` to the end of ``lineage``."""
    parts = []
    for source in lineage:
        begin, end = max(int(source["start"]), start), int(source["stop"])
        if begin < end:
            parts.append(read_range(checkpoints_root, str(source["run"]), begin, end))
    if not parts:
        raise CheckpointError("the checkpoint's replay lineage is empty")
    return _concat(parts)


def extend_lineage(
    lineage: list[dict[str, Any]], run_name: str, start: int, stop: int
) -> list[dict[str, Any]]:
    """``lineage`` with ``run_name``'s own range grown to end at ``stop``, or a new range
    ``start .. stop`` added (``start`` is where its rows begin: the end of the previous range,
    or later when older rows were already overwritten in the buffer)."""
    result = [dict(source) for source in lineage]
    if result and result[-1]["run"] == run_name:
        result[-1]["stop"] = stop
    else:
        begin = max(start, result[-1]["stop"]) if result else start
        result.append({"run": run_name, "start": begin, "stop": stop})
    return result


def truncate_lineage(lineage: list[dict[str, Any]], stop: int) -> list[dict[str, Any]]:
    """The part of ``lineage`` before global transition ``stop`` (a fork point)."""
    result = []
    for source in lineage:
        if source["start"] >= stop:
            break
        result.append({**source, "stop": min(source["stop"], stop)})
    return result


def lineage_size(lineage: list[dict[str, Any]]) -> int:
    return int(lineage[-1]["stop"]) if lineage else 0


def load_buffer(buffer: ReplayBuffer, checkpoints_root: Path, lineage: list[dict[str, Any]]) -> int:
    """Rebuild ``buffer`` from the newest ``buffer_size`` transitions of ``lineage``; returns the count."""
    count = lineage_size(lineage)
    if count:
        rows = read_lineage(checkpoints_root, lineage, max(0, count - buffer.buffer_size))
        fill_buffer(buffer, rows, count)
    return count
