"""Ctrl-C and SIGTERM for every command.

A signal handler may run between any two bytecodes of the main thread, in the middle of an
import, a print or a write. So the handlers here do as little as can be: set a flag, forward
the signal to child processes, and write a message made beforehand with ``os.write``. Nothing
in them imports, allocates a console or takes a lock, and any burst of signals is safe.

- :class:`StopSignals` (``train``, ``sweep run``): the first signal asks the running work to
  stop at its next safe point; the command then exits with ``128 + signal``.
- :func:`interrupt_on_signals` (every other command): a signal raises :class:`Interrupted`,
  which unwinds through the ``finally`` blocks (temporary files are removed) to
  :func:`robot6_sb3.__main__.main`, which exits with ``128 + signal``.
- :func:`signals_held`: around a command's import of PyTorch and Stable-Baselines3. An
  exception raised by a handler while PyTorch's C++ code runs Python aborts the process
  (pybind11 calls ``std::terminate``), so signals wait until the import is done.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """A SIGINT or SIGTERM ended a command that has no safe point to stop at.

    A ``BaseException``, like ``KeyboardInterrupt``, so that ``except Exception`` does not
    swallow it; not a ``KeyboardInterrupt``, which Click would turn into exit code 1.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _write(message: bytes) -> None:
    with contextlib.suppress(OSError):
        os.write(2, message)


class _InterruptOnce:
    """Raises :class:`Interrupted` at the first signal; later ones only say so, so that the
    unwinding (and the exit message) cannot be interrupted in turn. While :attr:`held`, the
    first signal is only noted, for :func:`signals_held` to raise."""

    def __init__(self) -> None:
        self.raised = False
        self.held = False
        self.pending: int | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.raised:
            _write(b"Already stopping.\n")
            return
        if self.held:
            if self.pending is None:
                self.pending = signum
            return
        self.raised = True
        raise Interrupted(signum)


def interrupt_on_signals() -> None:
    """The first SIGINT or SIGTERM raises :class:`Interrupted` from here on."""
    handler = _InterruptOnce()
    for signum in SIGNALS:
        signal.signal(signum, handler)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Under :func:`interrupt_on_signals`, a SIGINT or SIGTERM that arrives in the block raises
    :class:`Interrupted` when the block ends; under other handlers this does nothing."""
    handler = signal.getsignal(signal.SIGINT)
    if not isinstance(handler, _InterruptOnce):
        yield
        return
    handler.held = True
    try:
        yield
    finally:
        handler.held = False
        if handler.pending is not None and not handler.raised:
            handler.raised = True
            raise Interrupted(handler.pending)


class StopSignals:
    """Turns SIGINT / SIGTERM into a stop request.

    :param stopping: said once, at the first signal (``{name}`` becomes SIGINT or SIGTERM)
    :param again: said at every further signal
    """

    def __init__(self, stopping: str, again: str) -> None:
        self.received: int | None = None
        self.children: list[subprocess.Popen[bytes]] = []
        self._first = {
            signum: f"\n{stopping.format(name=signal.Signals(signum).name)}\n".encode()
            for signum in SIGNALS
        }
        self._again = f"{again}\n".encode()

    def install(self) -> None:
        for signum in SIGNALS:
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is None:
            self.received = signum
            _write(self._first[signum])
        else:
            _write(self._again)
        for child in self.children:
            with contextlib.suppress(OSError):
                if child.returncode is None:
                    os.kill(child.pid, signum)

    def requested(self) -> bool:
        return self.received is not None

    @property
    def exit_code(self) -> int:
        """``128 + signal`` of the first signal (130 for SIGINT, 143 for SIGTERM)."""
        assert self.received is not None
        return 128 + self.received
