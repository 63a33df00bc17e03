"""One writer per run: an advisory lock on ``checkpoints/<run>/.lock`` (SPEC 7).

``flock`` is released by the kernel when its process dies, even by SIGKILL, so a lock whose
process is gone never blocks anyone; the file only keeps the last holder's pid for messages.
"""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path
from types import TracebackType

from robot6_sb3.errors import RunLockedError


class RunLock:
    """Exclusive lock on a run folder, for ``with`` blocks.

    :param lock_path: the run's ``.lock`` file (created when missing)
    """

    def __init__(self, lock_path: Path) -> None:
        self.lock_path = Path(lock_path)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`RunLockedError` naming the holder."""
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise RunLockedError(
                f"run {self.lock_path.parent.name} is being written by {holder}; wait for it to "
                "finish or stop it (Ctrl-C) before resuming, or resume an older checkpoint to fork"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


def is_locked(lock_path: Path) -> bool:
    """Whether a live process holds the lock at ``lock_path``; only reads, changes nothing."""
    try:
        fd = os.open(lock_path, os.O_RDONLY)
    except (FileNotFoundError, NotADirectoryError):
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
