"""Keeps PyBullet's C-level chatter off the process's standard output and error.

PyBullet prints a build banner when it is imported and ``argv[0]=`` on every connection,
straight from C. Those lines would land in the middle of ``robot6 ... --json`` output and
training logs; here they go to ``/dev/null`` instead. Importing this module imports pybullet
once, silently, so later imports of it print nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from collections.abc import Iterator

_LIBC = ctypes.CDLL(None)


@contextlib.contextmanager
def silenced_native_output() -> Iterator[None]:
    """Send what C code writes to file descriptors 1 and 2 to ``/dev/null`` for the block."""
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        saved = [os.dup(1), os.dup(2)]
    except OSError:  # no standard streams at all: nothing to protect
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        _LIBC.fflush(None)  # C stdio buffers still point at /dev/null: empty them there
        for fd, copy in ((1, saved[0]), (2, saved[1])):
            os.dup2(copy, fd)
            os.close(copy)
        os.close(devnull)


with silenced_native_output():
    import pybullet  # noqa: F401
