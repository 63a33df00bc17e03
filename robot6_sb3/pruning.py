"""Removing old files: whole old runs (``robot6 prune``) and old periodic checkpoints while a
run trains (``robot6 train --keep-last``).

What a run still needs is never removed: ``latest.pth`` and ``best.pth`` stay, a run that a
live process is writing stays, and so does every run whose replay log or checkpoints a kept
run's lineage or parent names (a forked run reads its parent's transitions in place).
Removing ``ckpt_ep_N.pth`` files never breaks a child run: its buffer lives in the parent's
``replay/`` folder, which ``--keep-last`` does not touch.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from robot6_sb3.atomic import fsync_dir
from robot6_sb3.checkpoint import load_checkpoint, metadata_of
from robot6_sb3.config_fields import ConfigError
from robot6_sb3.discovery import checkpoint_files
from robot6_sb3.errors import CheckpointError, CheckpointWriteError, RunLockedError
from robot6_sb3.layout import REPLAY, RunPaths, periodic_episode, run_time
from robot6_sb3.run_lock import RunLock, is_locked


def keep_last_periodic(run_dir: Path, keep: int) -> list[Path]:
    """Delete all but the ``keep`` highest ``ckpt_ep_N.pth`` files of ``run_dir``.

    ``latest.pth``, ``best.pth`` and the replay log are never touched.

    :param run_dir: a run's checkpoint folder
    :param keep: how many periodic checkpoints stay (at least 1)
    :return: the files removed
    :raises CheckpointWriteError: when a file cannot be removed
    """
    if keep < 1:
        raise ConfigError("keep_last", f"must be at least 1, got {keep}")
    run_dir = Path(run_dir)
    periodic = sorted(
        (path for path in run_dir.iterdir() if periodic_episode(path.name) is not None),
        key=lambda path: periodic_episode(path.name) or 0,
    )
    doomed = periodic[:-keep]
    try:
        for path in doomed:
            path.unlink(missing_ok=True)
        if doomed:
            fsync_dir(run_dir)
    except OSError as exc:
        raise CheckpointWriteError(f"could not remove old checkpoints in {run_dir}: {exc}") from exc
    return doomed


@dataclass(frozen=True)
class RunDecision:
    """What ``prune`` does with one run, and why."""

    run: str
    remove: bool
    reason: str
    folders: tuple[Path, ...]
    """The run's folders that exist and would be removed with it."""
    size_bytes: int
    """Disk space of those folders (hard-linked checkpoints counted once)."""


@dataclass
class PrunePlan:
    """Every run's decision, newest run first."""

    decisions: list[RunDecision] = field(default_factory=list)

    @property
    def removed(self) -> list[RunDecision]:
        return [decision for decision in self.decisions if decision.remove]

    @property
    def kept(self) -> list[RunDecision]:
        return [decision for decision in self.decisions if not decision.remove]


def _size(folders: tuple[Path, ...]) -> int:
    seen: set[tuple[int, int]] = set()
    total = 0
    for folder in folders:
        for parent, _, names in os.walk(folder):
            for name in names:
                stat = (Path(parent) / name).lstat()
                if (stat.st_dev, stat.st_ino) not in seen:
                    seen.add((stat.st_dev, stat.st_ino))
                    total += stat.st_size
    return total


def run_needs(run_dir: Path) -> dict[str, str]:
    """Runs that ``run_dir``'s checkpoints depend on: ``{run name: why}``.

    Unreadable checkpoints are passed over: they cannot be resumed, so they need nothing.
    """
    own = Path(run_dir).name
    needs: dict[str, str] = {}
    for path in checkpoint_files(Path(run_dir)):
        try:
            checkpoint = load_checkpoint(path)
        except CheckpointError:
            continue
        for source in (checkpoint.get(REPLAY) or {}).get("lineage", []):
            if source["run"] != own:
                needs.setdefault(str(source["run"]), "its replay buffer")
        parent = metadata_of(checkpoint).parent_run
        if parent and parent != own:
            needs[parent] = "its parent checkpoint and replay buffer"
    return needs


def plan_prune(
    checkpoints_dir: Path, runs_dir: Path, keep_runs: int = 5, logs: bool = False
) -> PrunePlan:
    """Decide which runs to remove: all but the ``keep_runs`` newest, except runs that are
    locked or that a kept run needs. Writes nothing.

    Only folders named like runs (``<algo>_YYYYMMDD-HHMMSS``) are considered. Without
    ``logs`` a run is a checkpoint folder; with ``logs``, log folders count too.

    :param checkpoints_dir: folder of the runs' checkpoint folders
    :param runs_dir: folder of the runs' log folders
    :param keep_runs: newest runs to keep (at least 1)
    :param logs: also remove the old runs' log folders (CSV, TensorBoard)
    :raises UsageError: when ``keep_runs`` is below 1
    """
    if keep_runs < 1:
        raise ConfigError(
            "keep_runs",
            f"must be at least 1, got {keep_runs}; to remove every run, delete the folders "
            "yourself",
        )
    roots = [Path(checkpoints_dir)] + ([Path(runs_dir)] if logs else [])
    names = {
        path.name
        for root in roots
        if root.is_dir()
        for path in root.iterdir()
        if path.is_dir() and run_time(path.name) is not None
    }
    newest_first = sorted(names, key=lambda name: (run_time(name) or datetime.min, name))[::-1]
    paths = {name: RunPaths.of(name, checkpoints_dir, runs_dir) for name in names}
    reasons: dict[str, str] = {}
    for name in newest_first[:keep_runs]:
        reasons[name] = f"one of the {keep_runs} newest"
    for name in newest_first:
        if is_locked(paths[name].lock):
            reasons[name] = "locked: a process is writing it"
    pending = list(reasons)
    while pending:
        child = pending.pop()
        if not paths[child].checkpoint_dir.is_dir():
            continue
        for needed, why in run_needs(paths[child].checkpoint_dir).items():
            if needed in names and needed not in reasons:
                reasons[needed] = f"needed by {child} ({why})"
                pending.append(needed)
    plan = PrunePlan()
    for name in newest_first:
        folders = tuple(
            folder
            for folder in (paths[name].checkpoint_dir, paths[name].log_dir)
            if folder.is_dir() and (logs or folder == paths[name].checkpoint_dir)
        )
        remove = name not in reasons
        plan.decisions.append(
            RunDecision(name, remove, reasons.get(name, "older"), folders, _size(folders))
        )
    return plan


def apply_prune(plan: PrunePlan, checkpoints_dir: Path) -> list[RunDecision]:
    """Remove the runs ``plan`` marks for removal; a run that became locked since the plan
    was made is left alone (it is absent from the returned list).

    Each checkpoint folder is removed while holding its run lock, so no process can start
    resuming it midway.

    :param plan: from :func:`plan_prune`
    :param checkpoints_dir: the folder the plan was made for
    :return: the decisions carried out
    :raises CheckpointWriteError: when a folder cannot be removed
    """
    done = []
    for decision in plan.removed:
        lock = RunPaths.of(decision.run, checkpoints_dir, Path()).lock
        try:
            if lock.parent.is_dir():
                with RunLock(lock):
                    _remove(decision.folders)
            else:
                _remove(decision.folders)
        except RunLockedError:
            continue
        done.append(decision)
    return done


def _remove(folders: tuple[Path, ...]) -> None:
    for folder in folders:
        try:
            shutil.rmtree(folder)
            fsync_dir(folder.parent)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise CheckpointWriteError(f"could not remove {folder}: {exc}") from exc
