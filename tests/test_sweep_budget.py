"""The budget's slots and retry chains: which chains hold a slot, when a chain's retries are
used up, what a copy inherits, and which claims must not run."""

from __future__ import annotations

from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna", reason="the sweep extra (optuna) is not installed")

from optuna.trial import TrialState  # noqa: E402

from robot6_sb3.sweep.budget import (  # noqa: E402
    RetryLostTrial,
    chains,
    claim_refusal,
    fail_reason,
    queue_copy,
    slots_taken,
    used_up_chains,
)
from tests.sweep_trials import GRACE, add, new_study, retry_of  # noqa: E402

RUNNING, WAITING, FAIL = TrialState.RUNNING, TrialState.WAITING, TrialState.FAIL
COMPLETE, PRUNED = TrialState.COMPLETE, TrialState.PRUNED


@pytest.fixture
def study(tmp_path: Path) -> optuna.Study:
    return new_study(tmp_path)


def _taken(study: optuna.Study, below: int | None = None) -> int:
    trials = study.get_trials(deepcopy=False)
    return slots_taken(trials, used_up_chains(study.user_attrs), GRACE, below=below)


@pytest.mark.parametrize(
    ("state", "ago", "user", "holds"),
    [
        (COMPLETE, 0, {}, True),
        (PRUNED, 0, {}, True),
        (RUNNING, 0, {}, True),
        (WAITING, 0, {}, True),
        (FAIL, 0, {"error": "bad"}, False),
        (FAIL, 0, {"over_budget": True}, False),
        # Its copy is being queued by the worker that failed it.
        (FAIL, 0, {}, True),
        (FAIL, 0, {"interrupted": True}, True),
        # A copy that has not come within the grace period never will.
        (FAIL, GRACE + 1, {}, False),
        (FAIL, GRACE + 1, {"interrupted": True}, False),
    ],
)
def test_which_first_tries_hold_a_slot(
    study: optuna.Study, state: TrialState, ago: float, user: dict, holds: bool
) -> None:
    add(study, state, ago, user)

    assert _taken(study) == int(holds)


def test_a_chain_holds_one_slot_and_fresh_trials_count_the_chains_before_them(
    study: optuna.Study,
) -> None:
    add(study, FAIL, GRACE + 1)  # 0: lost
    add(study, COMPLETE)  # 1
    add(study, FAIL, GRACE + 1, system=retry_of(0, 0))  # 2: 0's retry, lost too
    add(study, RUNNING, system=retry_of(0, 0, 2))  # 3: 0's second retry

    assert sorted(chains(study.get_trials())) == [0, 1]
    assert _taken(study) == 2
    assert [_taken(study, below=n) for n in (0, 1, 2, 4)] == [0, 1, 2, 2]


def test_a_chain_that_loses_its_worker_once_more_than_max_retry_gives_its_slot_back(
    study: optuna.Study,
) -> None:
    retry = RetryLostTrial(max_retry=1)
    first = add(study, FAIL)
    retry(study, first)  # lost once: queued again
    copy = study.get_trials()[-1]
    assert (copy.number, copy.state, copy.system_attrs) == (1, WAITING, retry_of(0, 0))
    assert _taken(study) == 1

    study._storage.set_trial_state_values(copy._trial_id, RUNNING)
    study._storage.set_trial_state_values(copy._trial_id, FAIL)
    retry(study, study.get_trials()[-1])  # lost again: retries used up

    assert [t.number for t in study.get_trials()] == [0, 1], "no copy queued"
    assert used_up_chains(study.user_attrs) == {0: [0, 1]}
    assert [(t.number, requeued) for t, requeued in retry.lost] == [(0, True), (1, False)]
    assert _taken(study) == 0, "the slot is free for a new trial"
    fresh = add(study, RUNNING)
    assert (
        claim_refusal(fresh, study.get_trials(), 1, used_up_chains(study.user_attrs), GRACE) is None
    )


def test_a_lost_trials_copy_keeps_the_run_but_not_what_belongs_to_one_try(
    study: optuna.Study,
) -> None:
    lost = add(
        study, FAIL,
        user={"run": "sac_20250101-000000", "episodes": 7, "worker": "a:1", "first_episode_at": 1.0,
              "resumed_from_episode": 3},
        system={**retry_of(5, 5), "robot6:heartbeat_sent": True, "other": 1},
    )  # fmt: skip

    queue_copy(study, lost, lost_worker=True)

    copy = study.get_trials()[-1]
    assert copy.state == WAITING
    assert copy.user_attrs == {"run": "sac_20250101-000000", "episodes": 7}
    assert copy.system_attrs == {**retry_of(5, 5, lost.number), "other": 1}
    assert (copy.params, copy.intermediate_values) == (lost.params, lost.intermediate_values)


def test_an_interrupted_trials_copy_keeps_the_chains_retries(study: optuna.Study) -> None:
    stopped = add(study, FAIL, user={"run": "r", "interrupted": True}, system=retry_of(4, 4))

    queue_copy(study, stopped, lost_worker=False)

    copy = study.get_trials()[-1]
    assert copy.system_attrs == retry_of(4, 4), "retry history unchanged"
    assert copy.user_attrs == {"run": "r"}
    assert copy.intermediate_values == {2: 0.125}
    first_stop = add(study, FAIL, user={"interrupted": True})
    queue_copy(study, first_stop, lost_worker=False)
    assert study.get_trials()[-1].system_attrs == retry_of(first_stop.number)


def test_fresh_trials_beyond_the_budget_are_refused(study: optuna.Study) -> None:
    add(study, COMPLETE)
    add(study, RUNNING)
    third = add(study, RUNNING)
    trials = study.get_trials()

    assert claim_refusal(third, trials, 2, {}, GRACE) == "over_budget"
    assert claim_refusal(third, trials, 3, {}, GRACE) is None


def test_a_second_copy_of_one_chain_is_refused(study: optuna.Study) -> None:
    add(study, FAIL)  # 0: lost, and failed by two workers at once
    first_copy = add(study, RUNNING, system=retry_of(0, 0))
    second_copy = add(study, RUNNING, system=retry_of(0, 0))
    trials = study.get_trials()

    assert claim_refusal(first_copy, trials, 1, {}, GRACE) is None
    assert claim_refusal(second_copy, trials, 1, {}, GRACE) == "duplicate"
    study.tell(first_copy.number, 0.5)
    assert claim_refusal(first_copy, study.get_trials(), 1, {}, GRACE) is None
    late = add(study, RUNNING, system=retry_of(0, 0))
    assert claim_refusal(late, study.get_trials(), 1, {}, GRACE) == "duplicate"


@pytest.mark.parametrize(
    ("user", "expected"),
    [({}, "worker lost"), ({"error": "x"}, "error"), ({"interrupted": True}, "interrupted"),
     ({"over_budget": True}, "over budget"), ({"duplicate": True}, "duplicate")],
)  # fmt: skip
def test_fail_reason(study: optuna.Study, user: dict, expected: str) -> None:
    assert fail_reason(add(study, FAIL, user=user)) == expected
    assert fail_reason(add(study, COMPLETE, user=user)) is None
