"""A running trial's heartbeat, which tells the other workers that its worker lives."""

from __future__ import annotations

import contextlib
import threading

import sqlalchemy.exc
from optuna.storages import RDBStorage


class Heartbeat:
    """Records the trial's heartbeat every ``interval`` seconds on a thread, while in ``with``."""

    def __init__(self, storage: RDBStorage, trial_id: int, interval: int) -> None:
        self.storage = storage
        self.trial_id = trial_id
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True, name="sweep-heartbeat")

    def _beat(self) -> None:
        while True:
            # A failed beat (the database briefly away) is retried; if it stays away past the
            # grace period the trial is retried elsewhere, and this worker notices at its next
            # report.
            with contextlib.suppress(sqlalchemy.exc.SQLAlchemyError):
                self.storage.record_heartbeat(self.trial_id)
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
