"""Atomic file writes: a reader sees the old file or the new one, never a mix (SPEC 7).

Every file the product writes goes through here: the bytes land in a temporary file in the
same folder, are flushed and fsynced, the temporary file replaces the target with
``os.replace``, and the folder is fsynced so the rename itself survives a power cut.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from robot6_sb3.errors import CheckpointWriteError

TEMP_PREFIX = ".tmp-"
"""Temporary files start with this, so a crash's leftovers are easy to recognise and remove."""

SLOW_WRITES_ENV = "ROBOT6_TEST_SLOW_WRITES"
"""Test-only: seconds to pause inside every write, between the data and the rename, so that
fault-injection tests can kill the process mid-write."""


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_current_umask()
"""The mode an ordinary ``open(path, "w")`` would give; ``mkstemp``'s own 0600 would make
every checkpoint private to its owner."""


def _pause_for_tests() -> None:
    delay = os.environ.get(SLOW_WRITES_ENV)
    if delay:
        time.sleep(float(delay))


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _temp_file_beside(path: Path) -> Iterator[Path]:
    """A fresh temporary path in ``path``'s folder, removed again unless it was renamed away."""
    fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX + path.name + ".", dir=path.parent)
    os.fchmod(fd, FILE_MODE)
    os.close(fd)
    temp_path = Path(temp)
    try:
        yield temp_path
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp_path.unlink()


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write ``path`` atomically; ``write`` receives the open temporary file.

    :param path: the file to create or replace
    :param write: writes the whole content to the binary file it is given
    :raises CheckpointWriteError: when the disk is full, the folder is read-only or access is
        denied; the previous ``path`` (if any) is then untouched and no temporary file remains.
    """
    path = Path(path)
    try:
        with _temp_file_beside(path) as temp:
            with open(temp, "wb") as handle:
                write(handle)
                handle.flush()
                _pause_for_tests()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        fsync_dir(path.parent)
    except OSError as exc:
        raise CheckpointWriteError(f"could not write {path}: {exc.strerror or exc}") from exc


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    atomic_write(path, lambda handle: handle.write(data))


def atomic_copy(source: Path, target: Path) -> None:
    """Make ``target`` an atomic copy of ``source``.

    A copy, not a hard link: a link would share one inode, so anyone writing one of the
    files in place (``cp x latest.pth``) would silently change the other as well.
    ``shutil.copyfile`` copies inside the kernel, without another serialisation.
    """
    source = Path(source)
    atomic_write(Path(target), lambda handle: _copy_into(source, handle))


def _copy_into(source: Path, handle: BinaryIO) -> None:
    with open(source, "rb") as data:
        shutil.copyfileobj(data, handle, length=1 << 20)


def remove_temp_files(directory: Path) -> list[Path]:
    """Delete temporary files a crash left in ``directory``; returns what was removed."""
    removed = []
    for leftover in Path(directory).glob(TEMP_PREFIX + "*"):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()
            removed.append(leftover)
    return removed
