"""The names of what a sweep stores in Optuna beside Optuna's own: trial user attributes and
study user attributes. Every module of the sweep reads and writes them through these names."""

from __future__ import annotations

from optuna.trial import TrialState

# Trial user attributes (a retry gets a copy of its predecessor's).
RUN = "run"
"""The trial's run folder name under ``checkpoints/`` and ``runs/``."""
EPISODES = "episodes"
"""Episodes completed by the run so far."""
FIRST_EPISODE_AT = "first_episode_at"
"""Unix time at which this trial's first episode (of this try) was complete."""
WORKER = "worker"
"""``host:pid`` of the worker that claimed the trial."""
RESUMED_FROM = "resumed_from_episode"
"""The episode at which a retry resumed its predecessor's run (``None``: started over)."""
ERROR = "error"
"""Why the trial failed, when it failed on its own (bad parameters), not by losing its worker."""
OVER_BUDGET = "over_budget"
"""Set on a trial claimed after the budget was taken; it was never run."""

# Study user attributes.
SPACE = "robot6_space"
"""The space every worker of the study must use."""

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
"""The states that count against the budget."""
