"""The names of what a sweep stores in Optuna beside Optuna's own: trial attributes and study
user attributes. Every module of the sweep reads and writes them through these names."""

from __future__ import annotations

from optuna.trial import TrialState

# Trial user attributes.
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
INTERRUPTED = "interrupted"
"""Set on a trial whose worker was stopped (Ctrl-C, SIGTERM); a copy was queued at once."""
OVER_BUDGET = "over_budget"
"""Set on a trial claimed after the budget was taken; it was never run."""
DUPLICATE = "duplicate"
"""Set on a queued copy claimed while another trial of its chain runs or ran; never run."""

# Trial system attributes.
HEARTBEAT_SENT = "robot6:heartbeat_sent"
"""The trial's worker recorded its first heartbeat (right after claiming it)."""
FAILED_TRIAL = "failed_trial"
"""Optuna's name: on a copy, the number of the first trial of its chain."""
RETRY_HISTORY = "retry_history"
"""Optuna's name: on a copy, the numbers of the chain's trials that lost their worker."""

PER_TRY = (WORKER, ERROR, INTERRUPTED, OVER_BUDGET, DUPLICATE, FIRST_EPISODE_AT, RESUMED_FROM,
           HEARTBEAT_SENT)  # fmt: skip
"""What belongs to one try of a trial and is not copied to the next one."""

# Study user attributes.
SPACE = "robot6_space"
"""The space every worker of the study must use."""
RETRIES_USED_UP = "retries_used_up:"
"""Prefix of one study attribute per chain that lost its worker once more than ``max_retry``
allowed: ``retries_used_up:<first trial>`` holds the numbers of all its tries."""

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
"""The states that count against the budget."""
