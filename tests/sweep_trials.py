"""Studies on a temporary SQLite storage, with trials made in any state, for the fast unit
tests of the sweep's budget and heartbeat."""

from __future__ import annotations

import functools
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import FrozenTrial, TrialState

from robot6_sb3.sweep.storage import open_storage

GRACE = 3
"""Seconds; as the end-to-end tests pass to --grace-period."""


@functools.cache
def _empty_storage() -> bytes:
    """An SQLite file with Optuna's tables (made once: creating them takes a good part of a
    second, copying them a few milliseconds)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "optuna.db"
        open_storage(f"sqlite:///{path}", heartbeat_interval=1).engine.dispose()
        return path.read_bytes()


def new_study(folder: Path, max_retry: int = 1, grace_period: int = GRACE) -> optuna.Study:
    """A study whose storage has heartbeats on and the sweep's retry callback."""
    (folder / "optuna.db").write_bytes(_empty_storage())
    storage = open_storage(
        f"sqlite:///{folder / 'optuna.db'}", heartbeat_interval=1, grace_period=grace_period,
        max_retry=max_retry,
    )  # fmt: skip
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(study_name="s", storage=storage, direction="maximize")


def add(
    study: optuna.Study,
    state: TrialState,
    ago: float = 0.0,
    user: dict[str, Any] | None = None,
    system: dict[str, Any] | None = None,
) -> FrozenTrial:
    """Add a trial in ``state`` that started (and, if finished, ended) ``ago`` seconds ago,
    with one parameter and one intermediate value; returns it as stored."""
    when = datetime.now() - timedelta(seconds=ago)
    study.add_trial(
        FrozenTrial(
            number=-1,
            state=state,
            value=None,
            values=[0.5] if state == TrialState.COMPLETE else None,
            datetime_start=None if state == TrialState.WAITING else when,
            datetime_complete=when if state.is_finished() else None,
            params={"x": 0.25},
            distributions={"x": FloatDistribution(0.0, 1.0)},
            user_attrs=user or {},
            system_attrs=system or {},
            intermediate_values={2: 0.125},
            trial_id=-1,
        )
    )
    return study.get_trials(deepcopy=False)[-1]


def retry_of(first: int, *lost: int) -> dict[str, Any]:
    """The system attributes of a copy in ``first``'s chain after the tries ``lost``."""
    return {"failed_trial": first, "retry_history": list(lost)}
