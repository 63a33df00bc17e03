"""Heartbeats and lost workers: the first heartbeat right after the claim, and trials whose
worker was lost (before or after its first heartbeat) failed and queued again once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna", reason="the sweep extra (optuna) is not installed")

from optuna.trial import TrialState  # noqa: E402

from robot6_sb3.sweep.heartbeat import Heartbeat, fail_lost_trials, first_heartbeat  # noqa: E402
from robot6_sb3.sweep.storage import quiet_experimental  # noqa: E402
from tests.sweep_trials import GRACE, add, new_study, retry_of  # noqa: E402

MARK = {"robot6:heartbeat_sent": True}


def _lost(study: optuna.Study) -> list[tuple[int, bool]]:
    found = fail_lost_trials(study, study._storage, GRACE)
    return [(trial.number, requeued) for trial, requeued in found]


def test_a_trial_claimed_but_never_beating_is_failed_after_the_grace_period(
    tmp_path: Path,
) -> None:
    study = new_study(tmp_path)
    add(study, TrialState.RUNNING, ago=GRACE + 1)  # 0: its worker died before the first beat
    add(study, TrialState.RUNNING, ago=0)  # 1: just claimed
    beating = add(study, TrialState.RUNNING, ago=GRACE + 1, system=MARK)  # 2
    study._storage.record_heartbeat(beating._trial_id)

    assert _lost(study) == [(0, True)]

    states = [(t.number, t.state) for t in study.get_trials()]
    assert states == [(0, TrialState.FAIL), (1, TrialState.RUNNING), (2, TrialState.RUNNING),
                      (3, TrialState.WAITING)]  # fmt: skip
    assert study.get_trials()[3].system_attrs == retry_of(0, 0)
    assert _lost(study) == [], "failed once"


def test_of_two_workers_only_the_one_that_fails_the_trial_queues_its_copy(tmp_path: Path) -> None:
    study = new_study(tmp_path)
    other = optuna.load_study(study_name="s", storage=study._storage)
    add(study, TrialState.RUNNING, ago=GRACE + 1)

    assert _lost(study) == [(0, True)]
    assert _lost(other) == []
    assert [t.state for t in study.get_trials()] == [TrialState.FAIL, TrialState.WAITING]


def test_a_lost_copy_without_retries_left_is_failed_for_good(tmp_path: Path) -> None:
    study = new_study(tmp_path, max_retry=1)
    add(study, TrialState.FAIL, ago=GRACE + 1)
    add(study, TrialState.RUNNING, ago=GRACE + 1, system=retry_of(0, 0))

    assert _lost(study) == [(1, False)]
    assert len(study.get_trials()) == 2
    assert study.user_attrs["retries_used_up:0"] == [0, 1]


def test_first_heartbeat_marks_the_trial_and_beats_go_on(tmp_path: Path) -> None:
    study = new_study(tmp_path)
    with quiet_experimental():
        trial = study.ask()

    first_heartbeat(study._storage, trial._trial_id)
    with Heartbeat(study._storage, trial._trial_id, interval=1):
        time.sleep(0.1)

    assert study.get_trials()[0].system_attrs == MARK
    assert _lost(study) == []


def test_first_heartbeat_of_a_trial_failed_meanwhile_raises(tmp_path: Path) -> None:
    study = new_study(tmp_path)
    with quiet_experimental():
        trial = study.ask()
    study.tell(trial, state=TrialState.FAIL)

    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        first_heartbeat(study._storage, trial._trial_id)


def test_a_silent_heartbeat_goes_through_the_same_retry(tmp_path: Path) -> None:
    study = new_study(tmp_path, grace_period=1)  # Optuna's own check reads the storage's
    trial = add(study, TrialState.RUNNING, system=MARK)
    study._storage.record_heartbeat(trial._trial_id)

    time.sleep(2.1)

    assert _lost(study) == [(0, True)]
    assert study.get_trials()[-1].system_attrs == retry_of(0, 0)
