"""Finding runs and checkpoints under ``checkpoints/`` (SPEC 6).

``--resume`` takes the newest run (run names sort by time) that has a loadable checkpoint:
``latest.pth`` first, else the highest ``ckpt_ep_N.pth``. An unreadable file is skipped and
reported, never silently used or deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from robot6_sb3.checkpoint import Checkpoint, load_checkpoint
from robot6_sb3.errors import CheckpointError
from robot6_sb3.layout import BEST_NAME, LATEST_NAME, periodic_episode, run_time


@dataclass(frozen=True)
class Skipped:
    """A checkpoint file that could not be used, and why."""

    path: Path
    reason: str


@dataclass
class ResumeChoice:
    """What ``--resume`` found: the file and its loaded content, plus what it skipped."""

    path: Path | None
    checkpoint: Checkpoint | None
    skipped: list[Skipped] = field(default_factory=list)


def run_dirs(checkpoints_dir: Path) -> list[Path]:
    """Run folders, newest first (by the time in their names; other folders by mtime, after)."""
    root = Path(checkpoints_dir)
    if not root.is_dir():
        return []
    folders = [path for path in root.iterdir() if path.is_dir()]

    def newest_first(path: Path) -> tuple[int, datetime | float, str]:
        stamp = run_time(path.name)
        if stamp is not None:
            return (1, stamp, path.name)
        return (0, path.stat().st_mtime, path.name)

    return sorted(folders, key=newest_first, reverse=True)


def resume_candidates(run_dir: Path) -> list[Path]:
    """The files ``--resume`` tries in ``run_dir``, in order: latest, then ckpt_ep_N by N descending."""
    periodic = sorted(
        (path for path in run_dir.glob("ckpt_ep_*.pth") if periodic_episode(path.name) is not None),
        key=lambda path: periodic_episode(path.name) or 0,
        reverse=True,
    )
    latest = run_dir / LATEST_NAME
    return ([latest] if latest.exists() else []) + periodic


def checkpoint_files(run_dir: Path) -> list[Path]:
    """Every checkpoint file of a run: the resume candidates, then ``best.pth``."""
    best = Path(run_dir) / BEST_NAME
    return resume_candidates(Path(run_dir)) + ([best] if best.exists() else [])


def newest_best(checkpoints_dir: Path) -> Path | None:
    """``best.pth`` of the newest run that has one (what ``robot6 eval`` uses by default)."""
    for run_dir in run_dirs(checkpoints_dir):
        if (run_dir / BEST_NAME).is_file():
            return run_dir / BEST_NAME
    return None


def find_resume_checkpoint(checkpoints_dir: Path) -> ResumeChoice:
    """The checkpoint ``--resume`` continues from; ``path is None`` when there is none."""
    skipped: list[Skipped] = []
    for run_dir in run_dirs(checkpoints_dir):
        for path in resume_candidates(run_dir):
            try:
                return ResumeChoice(path, load_checkpoint(path), skipped)
            except CheckpointError as exc:
                skipped.append(Skipped(path, str(exc)))
    return ResumeChoice(None, None, skipped)
