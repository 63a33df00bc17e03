"""Stopping ``learn`` on request (Ctrl-C, SIGTERM, a sweep taking the trial elsewhere)."""

from __future__ import annotations

from collections.abc import Callable

from stable_baselines3.common.callbacks import BaseCallback


class StopTrainingOnRequest(BaseCallback):
    """Ends ``learn`` at the next env step once ``should_stop()`` is true.

    SB3 drops the step it stops in, so the episodes since the last consistent point are
    discarded and every file stays as ``latest.pth`` left it.

    :param should_stop: polled once per step; cheap
    :param verbose: verbosity level
    """

    def __init__(self, should_stop: Callable[[], bool], verbose: int = 0) -> None:
        super().__init__(verbose)
        self.should_stop = should_stop
        self.stopped = False

    def _on_step(self) -> bool:
        if self.should_stop():
            self.stopped = True
            return False
        return True
