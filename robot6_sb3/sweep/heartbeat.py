"""A running trial's heartbeat, which tells the other workers that its worker lives, and how
workers find the trials whose worker was lost.

A worker records a claimed trial's first heartbeat at once, then marks the trial
(:data:`~robot6_sb3.sweep.attributes.HEARTBEAT_SENT`), then beats on a thread. A trial whose
heartbeat is older than the grace period is failed by Optuna's own check. A worker lost
between claiming a trial and its first heartbeat leaves a running trial without any
heartbeat, which Optuna's check skips forever; such a trial is failed here once it has run for
longer than the grace period without the mark.
"""

from __future__ import annotations

import contextlib
import copy
import os
import threading
import time
from datetime import datetime, timedelta

import optuna
import sqlalchemy.exc
from optuna.storages import RDBStorage
from optuna.trial import FrozenTrial, TrialState

from robot6_sb3.sweep.attributes import HEARTBEAT_SENT
from robot6_sb3.sweep.budget import RetryLostTrial
from robot6_sb3.sweep.storage import quiet_experimental

PAUSE_AFTER_ASK_ENV = "ROBOT6_TEST_PAUSE_AFTER_ASK"
"""Test-only: seconds a worker pauses between claiming a trial and its first heartbeat, so
that fault-injection tests can kill it there."""


def first_heartbeat(storage: RDBStorage, trial_id: int) -> None:
    """Record the first heartbeat of a just claimed trial, then mark the trial as having one.

    :raises optuna.exceptions.UpdateFinishedTrialError: when another worker failed the trial
        meanwhile (this worker took longer than the grace period to get here)
    """
    delay = os.environ.get(PAUSE_AFTER_ASK_ENV)
    if delay:
        time.sleep(float(delay))
    storage.record_heartbeat(trial_id)
    storage.set_trial_system_attr(trial_id, HEARTBEAT_SENT, True)


class Heartbeat:
    """Records the trial's heartbeat every ``interval`` seconds on a thread, while in ``with``;
    the first beat comes ``interval`` seconds in (:func:`first_heartbeat` made the one before).
    """

    def __init__(self, storage: RDBStorage, trial_id: int, interval: int) -> None:
        self.storage = storage
        self.trial_id = trial_id
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True, name="sweep-heartbeat")

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            # A failed beat (the database briefly away) is retried; if it stays away past the
            # grace period the trial is retried elsewhere, and this worker notices at its next
            # report.
            with contextlib.suppress(sqlalchemy.exc.SQLAlchemyError):
                self.storage.record_heartbeat(self.trial_id)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()


def _never_beat(trial: FrozenTrial, grace_period: int, now: datetime) -> bool:
    """A running trial claimed longer than ``grace_period`` ago without a first heartbeat.

    ``datetime_start`` is the claiming machine's local time, so machines sharing a study need
    clocks that agree to well within the grace period (NTP).
    """
    started = trial.datetime_start
    return (
        not trial.system_attrs.get(HEARTBEAT_SENT)
        and started is not None
        and now - started > timedelta(seconds=grace_period)
    )


def fail_lost_trials(
    study: optuna.Study, storage: RDBStorage, grace_period: int
) -> list[tuple[FrozenTrial, bool]]:
    """Fail the running trials whose worker was lost, and queue each one again (up to the
    storage's ``max_retry``).

    :param study: the study, opened on ``storage``
    :param storage: opened with a :class:`~robot6_sb3.sweep.budget.RetryLostTrial`
    :param grace_period: seconds without a heartbeat after which a worker counts as lost
    :returns: the trials this worker failed, each with whether a copy was queued
    """
    retry = storage.get_heartbeat_stale_trial_callback()
    assert isinstance(retry, RetryLostTrial)
    retry.lost.clear()
    with quiet_experimental():
        optuna.storages.fail_stale_trials(study)
    # Optuna's check skips trials without a heartbeat; those are failed and queued again the
    # way optuna.storages.fail_stale_trials does it: only the worker whose change of state
    # succeeds queues the copy.
    now = datetime.now()
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if not _never_beat(trial, grace_period, now):
            continue
        with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):
            if storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL):
                failed.append(trial._trial_id)
    for trial_id in failed:
        retry(study, copy.deepcopy(storage.get_trial(trial_id)))
    return list(retry.lost)
