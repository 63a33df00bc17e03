"""Which run a folder belongs to: ``run.json`` in a run's checkpoint and log folders.

A checkpoint names its run (``run_name``) and carries the run's random ``run_id``. A folder
is continued by a checkpoint only when the folder says it belongs to the same run, so a
``latest.pth`` copied from another run (or a run folder of the same name from another
machine) never rewrites a CSV or a replay log that is not its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from robot6_sb3.atomic import atomic_write_bytes
from robot6_sb3.layout import LATEST_NAME, REPLAY_DIR_NAME, RUN_FILE_NAME, periodic_episode


@dataclass(frozen=True)
class RunIdentity:
    run_name: str
    run_id: str


def read_identity(folder: Path) -> RunIdentity | None:
    """The run ``folder`` belongs to, or ``None`` when it does not say (a run of format 1, a
    folder that is not a run's, or an unreadable ``run.json``)."""
    try:
        values = json.loads((Path(folder) / RUN_FILE_NAME).read_text())
        return RunIdentity(str(values["run_name"]), str(values["run_id"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_identity(folder: Path, identity: RunIdentity) -> None:
    """Mark ``folder`` as ``identity``'s (atomically)."""
    payload = {"run_name": identity.run_name, "run_id": identity.run_id}
    atomic_write_bytes(Path(folder) / RUN_FILE_NAME, (json.dumps(payload) + "\n").encode())


def is_run_folder(folder: Path) -> bool:
    """Whether ``folder`` holds a run (its own ``run.json``, checkpoints or replay log)."""
    folder = Path(folder)
    return (
        (folder / RUN_FILE_NAME).is_file()
        or (folder / LATEST_NAME).is_file()
        or (folder / REPLAY_DIR_NAME).is_dir()
        or any(periodic_episode(path.name) is not None for path in folder.glob("ckpt_ep_*.pth"))
    )


def belongs_to(folder: Path, identity: RunIdentity) -> bool:
    """Whether ``folder`` is ``identity``'s run folder: it says so, or says nothing and
    carries the run's name (runs written before folders said whose they are)."""
    found = read_identity(folder)
    if found is None:
        return Path(folder).name == identity.run_name
    return found == identity
