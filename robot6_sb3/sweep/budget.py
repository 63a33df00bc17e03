"""The study's budget and the retry chains that share its slots.

A *chain* is a first try and the copies queued after it: a retry when a trial's worker was
lost (killed, out of memory, machine gone), a re-queue when its worker was stopped (Ctrl-C,
SIGTERM). Every copy names the chain's first trial in ``failed_trial`` (Optuna's attribute);
its ``retry_history`` lists only the tries before it that lost their worker, so a stop never
uses up a retry.

The budget counts finished (complete or pruned) trials, and each chain holds one slot while
it is finished, running, queued or about to be queued again. A fresh trial takes a slot by its
trial number, which the storage hands out atomically: it runs only if fewer than ``n_trials``
chains started before it hold one, so concurrent workers never run more trials than the
budget. A chain whose worker was lost more than ``max_retry`` times gives its slot back, so a
parameter set that kills its worker every time cannot stall the study.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from robot6_sb3.sweep.attributes import (
    DUPLICATE,
    ERROR,
    FAILED_TRIAL,
    FINISHED,
    INTERRUPTED,
    OVER_BUDGET,
    PER_TRY,
    RETRIES_USED_UP,
    RETRY_HISTORY,
)

LIVE = (*FINISHED, TrialState.RUNNING, TrialState.WAITING)


def origin(trial: FrozenTrial) -> int:
    """The number of the first trial of ``trial``'s chain (its own for a first try)."""
    return int(trial.system_attrs.get(FAILED_TRIAL, trial.number))


def retry_history(trial: FrozenTrial) -> list[int]:
    """The trials of ``trial``'s chain before it that lost their worker."""
    return list(trial.system_attrs.get(RETRY_HISTORY, []))


def fail_reason(trial: FrozenTrial) -> str | None:
    """Why a failed trial failed: ``error``, ``interrupted``, ``over budget``, ``duplicate``
    or ``worker lost``; ``None`` for a trial that has not failed."""
    if trial.state != TrialState.FAIL:
        return None
    for key, reason in ((ERROR, "error"), (INTERRUPTED, "interrupted"),
                        (OVER_BUDGET, "over budget"), (DUPLICATE, "duplicate")):  # fmt: skip
        if key in trial.user_attrs:
            return reason
    return "worker lost"


def chains(trials: list[FrozenTrial]) -> dict[int, list[FrozenTrial]]:
    """``trials`` by chain (keyed by the first trial's number), each in trial order."""
    found: dict[int, list[FrozenTrial]] = defaultdict(list)
    for trial in sorted(trials, key=lambda t: t.number):
        found[origin(trial)].append(trial)
    return dict(found)


def used_up_chains(study_attrs: dict[str, Any]) -> dict[int, list[int]]:
    """The chains whose retries are used up (first trial -> all its tries), from the study's
    user attributes."""
    return {
        int(key.removeprefix(RETRIES_USED_UP)): list(tries)
        for key, tries in study_attrs.items()
        if key.startswith(RETRIES_USED_UP)
    }


def _holds_slot(chain: list[FrozenTrial], used_up: bool, grace_period: int, now: datetime) -> bool:
    if any(trial.state in LIVE for trial in chain):
        return True
    latest = chain[-1]
    if used_up or fail_reason(latest) not in ("worker lost", "interrupted"):
        return False
    # Its copy is being queued by the worker that failed it, a moment after the failure; a
    # copy that has not come within the grace period never will (that worker died too).
    complete = latest.datetime_complete
    return complete is None or now - complete < timedelta(seconds=grace_period)


def slots_taken(
    trials: list[FrozenTrial],
    used_up: dict[int, list[int]],
    grace_period: int,
    below: int | None = None,
) -> int:
    """How many chains hold a budget slot (only chains started before trial ``below``, if
    given).

    :param trials: all trials of the study
    :param used_up: :func:`used_up_chains` of the study
    :param grace_period: seconds after which a lost trial's copy is no longer awaited
    """
    now = datetime.now()
    return sum(
        _holds_slot(chain, first in used_up, grace_period, now)
        for first, chain in chains(trials).items()
        if below is None or first < below
    )


def finished_count(trials: list[FrozenTrial]) -> int:
    """Trials that count against the budget: complete or pruned."""
    return sum(t.state in FINISHED for t in trials)


def claim_refusal(
    trial: FrozenTrial,
    trials: list[FrozenTrial],
    n_trials: int,
    used_up: dict[int, list[int]],
    grace_period: int,
) -> str | None:
    """Why a just claimed trial must not run: :data:`OVER_BUDGET` (a fresh trial beyond the
    budget), :data:`DUPLICATE` (a copy whose chain another trial serves: two workers failed
    the same lost trial at once, which SQLite does not prevent), or ``None`` to run it."""
    if FAILED_TRIAL not in trial.system_attrs:
        taken = slots_taken(trials, used_up, grace_period, below=trial.number)
        return OVER_BUDGET if taken >= n_trials else None
    for other in chains(trials).get(origin(trial), []):
        if other.number == trial.number:
            continue
        if other.state in FINISHED or (
            other.state in (TrialState.RUNNING, TrialState.WAITING) and other.number < trial.number
        ):
            return DUPLICATE
    return None


def queue_copy(study: optuna.Study, trial: FrozenTrial, lost_worker: bool) -> None:
    """Queue a copy of the failed ``trial`` with its parameters, user attributes and
    intermediate values, as the next try of its chain.

    :param lost_worker: the trial lost its worker (its number joins the retry history);
        false for a trial whose worker was stopped, which keeps the chain's retries
    """
    history = retry_history(trial) + ([trial.number] if lost_worker else [])
    system_attrs = {key: v for key, v in trial.system_attrs.items() if key not in PER_TRY}
    study.add_trial(
        optuna.trial.create_trial(
            state=TrialState.WAITING,
            params=trial.params,
            distributions=trial.distributions,
            user_attrs={key: v for key, v in trial.user_attrs.items() if key not in PER_TRY},
            system_attrs={**system_attrs, FAILED_TRIAL: origin(trial), RETRY_HISTORY: history},
            intermediate_values=trial.intermediate_values,
        )
    )


class RetryLostTrial:
    """Queues a copy of a trial whose worker was lost, up to ``max_retry`` times per chain.

    What Optuna's :class:`~optuna.storages.RetryHeartbeatStaleTrialCallback` does (same
    ``failed_trial`` and ``retry_history`` system attributes), with two differences: the copy
    does not inherit what belongs to one try (its worker, its error, its heartbeat mark), and a
    chain whose retries are used up is recorded in the study, so that every worker frees its
    slot and ``robot6 sweep status`` can say so. Each call is remembered in :attr:`lost` for
    the worker to report.

    :param max_retry: how many times a chain is queued again after losing its worker
    """

    def __init__(self, max_retry: int) -> None:
        self.max_retry = max_retry
        self.lost: list[tuple[FrozenTrial, bool]] = []
        """The failed trials, each with whether a copy was queued."""

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        tries = [*retry_history(trial), trial.number]
        requeued = len(tries) <= self.max_retry
        if requeued:
            queue_copy(study, trial, lost_worker=True)
        else:
            study.set_user_attr(f"{RETRIES_USED_UP}{origin(trial)}", tries)
        self.lost.append((trial, requeued))
