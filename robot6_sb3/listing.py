"""What ``robot6 list-checkpoints`` shows: every run's checkpoint files, what each holds,
whether resuming it is exact, and which one ``--resume`` would pick."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from robot6_sb3.checkpoint import load_checkpoint, metadata_of
from robot6_sb3.discovery import checkpoint_files, find_resume_checkpoint, run_dirs
from robot6_sb3.errors import CheckpointError
from robot6_sb3.exactness import exactness
from robot6_sb3.layout import BEST_REWARD, EPISODE, GLOBAL_STEP
from robot6_sb3.resume_point import foreign_to_folder


@dataclass(frozen=True)
class CheckpointEntry:
    """One checkpoint file of a run."""

    path: str
    file: str
    size_bytes: int
    age_seconds: float
    resume_pick: bool = False
    """Whether ``robot6 train --resume`` would continue from this file."""
    error: str | None = None
    """Why the file cannot be loaded (then the fields below are ``None``)."""
    episode: int | None = None
    global_step: int | None = None
    best_reward: float | None = None
    exact: bool | None = None
    exact_reason: str | None = None
    parent: str | None = None
    """The run this one was forked from."""
    foreign: str | None = None
    """Why the file is not its folder's own (copied from another run), or ``None``."""


@dataclass(frozen=True)
class RunEntry:
    run: str
    path: str
    files: list[CheckpointEntry] = field(default_factory=list)


@dataclass(frozen=True)
class Listing:
    checkpoints_dir: str
    resume_pick: str | None
    """The file ``--resume`` would continue from (``None``: it would start from scratch)."""
    runs: list[RunEntry]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def describe_file(path: Path, resume_pick: bool = False) -> CheckpointEntry:
    """One checkpoint file, loaded and judged (an unreadable one says why)."""
    stat = path.stat()
    common: dict[str, Any] = {
        "path": str(path),
        "file": path.name,
        "size_bytes": stat.st_size,
        "age_seconds": round(time.time() - stat.st_mtime, 1),
        "resume_pick": resume_pick,
    }
    try:
        checkpoint = load_checkpoint(path)
    except CheckpointError as exc:
        return CheckpointEntry(**common, error=str(exc))
    metadata = metadata_of(checkpoint)
    verdict = exactness(checkpoint, path)
    return CheckpointEntry(
        **common,
        episode=checkpoint[EPISODE],
        global_step=checkpoint[GLOBAL_STEP],
        best_reward=checkpoint[BEST_REWARD],
        exact=verdict.exact,
        exact_reason=verdict.reason,
        parent=metadata.parent_run,
        foreign=foreign_to_folder(path, metadata),
    )


def list_checkpoints(checkpoints_dir: Path) -> Listing:
    """Every run under ``checkpoints_dir``, newest first, with its checkpoint files."""
    choice = find_resume_checkpoint(checkpoints_dir)
    pick = choice.path.resolve() if choice.path else None
    runs = [
        RunEntry(
            run=run_dir.name,
            path=str(run_dir),
            files=[
                describe_file(path, path.resolve() == pick) for path in checkpoint_files(run_dir)
            ],
        )
        for run_dir in run_dirs(checkpoints_dir)
    ]
    return Listing(str(checkpoints_dir), str(choice.path) if choice.path else None, runs)
