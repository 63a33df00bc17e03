"""A study's trials as ``robot6 sweep status`` shows them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from robot6_sb3.layout import StudyPaths
from robot6_sb3.sweep.attributes import EPISODES, ERROR, RESUMED_FROM, RUN, WORKER
from robot6_sb3.sweep.budget import chains, fail_reason, origin, used_up_chains

HIDDEN = ("over budget", "duplicate")
"""Failed claims that never ran: left out of the status."""


@dataclass(frozen=True)
class TrialRow:
    """One trial as ``robot6 sweep status`` shows it."""

    number: int
    state: str
    value: float | None
    params: dict[str, Any]
    episodes: int | None
    run: str | None
    run_dir: Path | None
    retry_of: int | None
    resumed_from: int | None
    """The episode a retry resumed its predecessor's run at."""
    worker: str | None
    error: str | None
    fail_reason: str | None = None
    """For a failed trial: ``error``, ``interrupted`` or ``worker lost``."""
    retried_as: int | None = None
    """The next trial of its chain: the copy that took over after it failed."""
    retries_used_up: list[int] | None = None
    """On the last trial of a chain that lost its worker more often than ``max_retry``
    allowed: the numbers of those tries. The chain gave its budget slot back."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "state": self.state,
            "value": self.value,
            "params": self.params,
            "episodes": self.episodes,
            "run": self.run,
            "run_dir": None if self.run_dir is None else str(self.run_dir),
            "retry_of": self.retry_of,
            "resumed_from": self.resumed_from,
            "worker": self.worker,
            "error": self.error,
            "fail_reason": self.fail_reason,
            "retried_as": self.retried_as,
            "retries_used_up": self.retries_used_up,
        }


def trial_rows(study: optuna.Study, runs_root: Path) -> list[TrialRow]:
    """The study's trials, best first: complete by value, then pruned by last value, then
    running, queued and failed ones (claims over the budget are left out).

    :param study: a loaded study
    :param runs_root: where the study's folder is, to show each run's folder
    """
    paths = StudyPaths.of(runs_root, study.study_name)
    order = {TrialState.COMPLETE: 0, TrialState.PRUNED: 1, TrialState.RUNNING: 2,
             TrialState.WAITING: 3, TrialState.FAIL: 4}  # fmt: skip
    trials = study.get_trials(deepcopy=False)
    used_up = used_up_chains(study.user_attrs)
    rows = []
    for first, chain in chains(trials).items():
        tries = [trial for trial in chain if fail_reason(trial) not in HIDDEN]
        for index, trial in enumerate(tries):
            value = trial.value
            if value is None and trial.intermediate_values:
                value = trial.intermediate_values[max(trial.intermediate_values)]
            run = trial.user_attrs.get(RUN)
            last = index == len(tries) - 1
            rows.append(
                TrialRow(
                    number=trial.number,
                    state=trial.state.name,
                    value=value,
                    params=dict(trial.params),
                    episodes=trial.user_attrs.get(EPISODES),
                    run=run,
                    run_dir=None if run is None else paths.run(run).checkpoint_dir,
                    retry_of=None if origin(trial) == trial.number else first,
                    resumed_from=trial.user_attrs.get(RESUMED_FROM),
                    worker=trial.user_attrs.get(WORKER),
                    error=trial.user_attrs.get(ERROR),
                    fail_reason=fail_reason(trial),
                    retried_as=None if last else tries[index + 1].number,
                    retries_used_up=used_up.get(first) if last else None,
                )
            )
    return sorted(
        rows,
        key=lambda row: (
            order.get(TrialState[row.state], 5),
            -(row.value if row.value is not None else -float("inf")),
            row.number,
        ),
    )
