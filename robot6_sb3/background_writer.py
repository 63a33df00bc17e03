"""File writes off the training thread, in submission order.

A checkpoint save is mostly waiting for the disk (three fsynced renames cost ~35 ms per
episode on a typical ext4 disk, while an episode trains in ~0.5 s). The training thread
snapshots what must be saved (cheap, in memory) and hands the writing to one worker thread,
so training goes on while the disk works. One worker keeps the order of every write; a
failed write stops all later ones (nothing newer than a failure reaches the disk) and is
raised on the training thread at the next submit or flush.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

Job = Callable[[], None]


class BackgroundWriter:
    """One worker thread running write jobs in order.

    :param max_pending: jobs that may wait at once; a slower disk then blocks the submitter
        instead of letting snapshots pile up in memory
    """

    def __init__(self, max_pending: int = 2) -> None:
        self._jobs: queue.Queue[Job | None] = queue.Queue(maxsize=max_pending)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="robot6-writer", daemon=True)
        self._thread.start()

    def submit(self, job: Job) -> None:
        """Queue ``job``; raises the error of an earlier job, if one failed."""
        self._raise_error()
        self._jobs.put(job)

    def flush(self) -> None:
        """Wait until every submitted job ran; raises the first error among them."""
        self._jobs.join()
        self._raise_error()

    def close(self) -> None:
        """Finish the queued jobs and stop the worker; raises the first error among them."""
        if self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join()
        self._raise_error()

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _work(self) -> None:
        failed = False
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                if not failed:
                    job()
            except BaseException as exc:  # handed to the training thread, never lost
                failed = True
                self._error = exc
            finally:
                self._jobs.task_done()
