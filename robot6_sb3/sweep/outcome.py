"""What a worker reports about each trial it claimed, or found lost."""

from __future__ import annotations

from dataclasses import dataclass

from optuna.trial import FrozenTrial

from robot6_sb3.sweep.budget import origin, retry_history
from robot6_sb3.sweep.settings import SweepSettings


@dataclass(frozen=True)
class TrialOutcome:
    """What a worker did with one claimed trial."""

    number: int
    state: str
    """``COMPLETE``, ``PRUNED``, ``FAIL`` (its error is in ``error``), ``INTERRUPTED`` (queued
    again), ``SUPERSEDED`` (declared lost and retried elsewhere while still running),
    ``OVER_BUDGET`` (claimed after the budget was taken; not run), ``DUPLICATE`` (a second copy
    of a retried trial; not run), or ``LOST``: another worker's trial, found without heartbeat
    and failed here (``note`` says whether it was queued again)."""
    value: float | None = None
    run: str | None = None
    episodes: int = 0
    resumed_from: int | None = None
    retry_of: int | None = None
    seconds: float = 0.0
    train_seconds: float = 0.0
    error: str | None = None
    note: str | None = None


def lost_outcome(trial: FrozenTrial, requeued: bool, settings: SweepSettings) -> TrialOutcome:
    """What a worker reports about another worker's trial that it found lost and failed."""
    tries = [*retry_history(trial), trial.number]
    note = f"its worker was lost (no heartbeat for {settings.grace_period} s); "
    if requeued:
        note += f"queued again (retry {len(tries)} of {settings.max_retry})"
    else:
        note += (
            f"not queued again: its worker was lost {len(tries)} times (trials "
            f"{', '.join(map(str, tries))}) and it had {settings.max_retry} retries; its place "
            "in the budget goes to a new trial"
        )
    retry_of = None if origin(trial) == trial.number else origin(trial)
    return TrialOutcome(trial.number, "LOST", retry_of=retry_of, note=note)
