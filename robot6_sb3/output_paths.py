"""Checking a file a command was asked to write, before any work is done (SPEC 7: bad input
writes nothing)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from robot6_sb3.errors import UsageError


def check_output_path(path: Path, suffixes: Sequence[str], option: str) -> Path:
    """``path`` if a file with one of ``suffixes`` can be written there, else a usage error.

    :param path: the file to be created or replaced
    :param suffixes: accepted endings, lower case with the dot (``".png"``)
    :param option: how the user gave the path (``"--plot"``), for the message
    :raises UsageError: for a wrong suffix, a missing or read-only folder, or a folder in
        the file's place
    """
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise UsageError(
            f"{option} {path} must end with {' or '.join(suffixes)}, got "
            f"{path.suffix or 'no suffix'}"
        )
    folder = path.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise UsageError(
            f"{option} {path}: {folder} {what}; create the folder or pick another path"
        )
    if path.is_dir():
        raise UsageError(f"{option} {path} is a folder; give a file name inside it")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(
            f"{option} {path} cannot be written (permission denied); pick another path"
        )
    return path
