"""Whether resuming a checkpoint continues its run bitwise: one answer for every command.

A checkpoint is exact when its run could be saved exactly (the metadata says why not, e.g. an
env without the state protocol), it holds the random, env and counter state, and the replay
rows its buffer needs are on disk, in its own run's folder and its parents'.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from robot6_sb3.checkpoint import Checkpoint, metadata_of
from robot6_sb3.layout import (
    ENV_STATE,
    REPLAY,
    REPLAY_DIR_NAME,
    RNG_STATE,
    TRAINING_STATE,
    run_folder_of,
)
from robot6_sb3.replay_log import replay_problem


@dataclass(frozen=True)
class Exactness:
    exact: bool
    reason: str
    """Why not, or what makes it exact."""


def replay_root(checkpoint: Checkpoint, path: Path) -> Path:
    """The folder holding the run folders a checkpoint's replay lineage names: the parent of
    the file's folder (a file in a run folder, its own or another's), or the file's folder
    (a file copied out of its run, beside copies of the run folders it needs)."""
    folder = run_folder_of(path)
    lineage = (checkpoint.get(REPLAY) or {}).get("lineage") or []
    for root in (folder.parent, folder):
        if lineage and (root / str(lineage[0]["run"]) / REPLAY_DIR_NAME).is_dir():
            return root
    return folder.parent if folder.name == metadata_of(checkpoint).run_name else folder


def exactness(checkpoint: Checkpoint, path: Path) -> Exactness:
    """Whether resuming ``checkpoint`` (read from ``path``) would be exact, and why (not)."""
    metadata = metadata_of(checkpoint)
    if not metadata.exact:
        return Exactness(False, "; ".join(metadata.inexact_reasons) or "its run was not exact")
    if checkpoint.get(REPLAY) is None:
        return Exactness(
            False, "no replay buffer (trained without the replay log): a resume starts empty"
        )
    missing = [key for key in (RNG_STATE, ENV_STATE, TRAINING_STATE) if checkpoint.get(key) is None]
    if missing:
        return Exactness(False, f"lacks {', '.join(missing)}")
    rows = max(metadata.buffer_size // metadata.n_envs, 1)
    problem = replay_problem(replay_root(checkpoint, path), checkpoint[REPLAY]["lineage"], rows)
    if problem:
        return Exactness(False, problem.split("; ")[0])
    return Exactness(
        True, "networks, optimizers, counters, RNG, env state and replay log are all there"
    )
