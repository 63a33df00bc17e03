"""The study's budget: which trials hold one of its ``n_trials`` slots.

The budget counts finished (complete or pruned) trials. A fresh trial takes a slot by its
trial number, which the storage hands out atomically, so concurrent workers never run more
trials than the budget; a retry keeps its predecessor's slot.
"""

from __future__ import annotations

from optuna.trial import FrozenTrial, TrialState

from robot6_sb3.sweep.attributes import ERROR, FINISHED, OVER_BUDGET


def origin(trial: FrozenTrial) -> int:
    """The number of the first trial of a retry chain (the trial's own for a first try)."""
    return int(trial.system_attrs.get("failed_trial", trial.number))


def _holds_slot(trial: FrozenTrial, max_retry: int) -> bool:
    """Whether ``trial``'s budget slot is taken: finished, running, queued, or a dead worker's
    trial that is (about to be) queued again."""
    if trial.state in (*FINISHED, TrialState.RUNNING, TrialState.WAITING):
        return True
    if (
        trial.state != TrialState.FAIL
        or ERROR in trial.user_attrs
        or OVER_BUDGET in trial.user_attrs
    ):
        return False
    return len(trial.system_attrs.get("retry_history", [])) < max_retry


def slots_taken(trials: list[FrozenTrial], max_retry: int, below: int | None = None) -> int:
    """Budget slots held by ``trials`` (only those numbered below ``below``, if given)."""
    return len(
        {
            origin(t)
            for t in trials
            if _holds_slot(t, max_retry) and (below is None or t.number < below)
        }
    )


def finished_count(trials: list[FrozenTrial]) -> int:
    """Trials that count against the budget: complete or pruned."""
    return sum(t.state in FINISHED for t in trials)
