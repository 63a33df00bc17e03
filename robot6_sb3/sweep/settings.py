"""What one worker needs to join a study (:class:`SweepSettings`), and the checks on it."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from robot6_sb3.devices import choose_device
from robot6_sb3.errors import UsageError
from robot6_sb3.layout import StudyPaths
from robot6_sb3.run_settings import RunSettings

if TYPE_CHECKING:
    from robot6_sb3.sweep.space import SearchSpace

STUDY_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def check_study_name(name: str) -> None:
    """:raises UsageError: unless ``name`` can name a folder (letters, digits, ``._-``)."""
    if not STUDY_NAME_RE.match(name):
        raise UsageError(
            f"--study {name!r} must be 1-100 letters, digits, '.', '_' or '-', starting with a "
            "letter or digit (it names the study's folder)"
        )


def default_storage_url(runs_root: Path, study: str) -> str:
    """SQLite in the study folder, as an absolute path (workers may start elsewhere)."""
    return f"sqlite:///{StudyPaths.of(runs_root, study).storage.resolve()}"


@dataclass(frozen=True)
class SweepSettings:
    """What one worker needs to join a study; every worker of a study should agree on it."""

    study: str
    space: SearchSpace
    runs_root: Path = Path(".")
    """The study lives in ``<runs_root>/sweeps/<study>/`` (shared by all machines)."""
    storage_url: str | None = None
    """Any SQLAlchemy URL; ``None`` is SQLite in the study folder (one machine only)."""
    n_trials: int = 20
    """Budget: the study ends when this many trials are complete or pruned."""
    episodes: int | None = None
    """Episodes per trial (``None``: the space file's)."""
    heartbeat_interval: int = 10
    """Seconds between two heartbeats of a running trial."""
    grace_period: int = 60
    """Seconds without heartbeat after which a trial's worker counts as dead."""
    max_retry: int = 3
    """How many times a trial whose worker died is queued again."""
    device: str = "cpu"
    save_every: int = RunSettings.save_every

    @property
    def paths(self) -> StudyPaths:
        return StudyPaths.of(self.runs_root, self.study)

    @property
    def trial_episodes(self) -> int:
        return self.space.episodes if self.episodes is None else self.episodes

    @property
    def url(self) -> str:
        return self.storage_url or default_storage_url(self.runs_root, self.study)


def _check_folders(paths: StudyPaths) -> None:
    """The study's folders can be made: no file in their way, and the deepest existing one
    writable."""
    for target in (paths.checkpoints_dir, paths.runs_dir):
        for folder in (target, *target.parents):
            if not folder.exists():
                continue
            if not folder.is_dir():
                raise UsageError(
                    f"the study folder {paths.root} cannot be made: {folder} is a file, not a "
                    "folder; pass another --runs-root"
                )
            if folder != target and not os.access(folder, os.W_OK | os.X_OK):
                raise UsageError(
                    f"the study folder {paths.root} cannot be made: {folder} is not writable "
                    "(permission denied); pass another --runs-root"
                )
            break


def check_settings(settings: SweepSettings) -> None:
    """What can be checked before anything is created: the study name, the device, and that
    the study's folders can be made.

    :raises UsageError: naming the setting and its value
    """
    check_study_name(settings.study)
    choose_device(settings.device)
    _check_folders(settings.paths)
