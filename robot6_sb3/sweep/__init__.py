"""Hyperparameter and seed sweeps on Optuna: one study storage shared by every worker, on one
machine (SQLite) or many (PostgreSQL), with trials that survive their worker.

How a sweep holds together:

- Every worker (a process; any number per machine, any number of machines) opens the same
  Optuna RDB storage and study (:mod:`~robot6_sb3.sweep.storage`), and loops
  (:mod:`~robot6_sb3.sweep.worker`): claim a trial, train it as a normal robot6 run under
  ``<runs-root>/sweeps/<study>/`` (:mod:`~robot6_sb3.sweep.trial_run`), report evaluations to
  the pruner, tell the result.
- A claimed trial sends a heartbeat at once and then every ``heartbeat_interval`` seconds
  (:mod:`~robot6_sb3.sweep.heartbeat`). When a worker is lost (SIGKILL, out of memory, machine
  gone), any other worker finds its trial silent, or claimed without a heartbeat, for longer
  than ``grace_period`` seconds, fails it, and queues a copy with the same parameters and user
  attributes. The copy's ``run`` attribute names the predecessor's run folder, so the retry
  resumes its ``latest.pth`` instead of starting over. The run's flock
  (:class:`~robot6_sb3.run_lock.RunLock`) keeps one writer per folder.
- The budget (:mod:`~robot6_sb3.sweep.budget`) counts finished (complete or pruned) trials. A
  trial and its copies form a chain that holds one slot and has ``max_retry`` retries; a chain
  that uses them up gives its slot back. A worker stopped by a signal queues its trial's copy
  itself, without using a retry.
- The space file (:mod:`~robot6_sb3.sweep.space`) says what to sample and how trials run;
  :mod:`~robot6_sb3.sweep.status` lists a study's trials.

The names below load their module on first use, so that reading a study (``robot6 sweep
status``) does not import PyTorch and Stable-Baselines3.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from robot6_sb3.sweep.budget import finished_count
    from robot6_sb3.sweep.outcome import TrialOutcome
    from robot6_sb3.sweep.settings import SweepSettings, check_study_name, default_storage_url
    from robot6_sb3.sweep.space import SearchSpace, load_space
    from robot6_sb3.sweep.status import TrialRow, trial_rows
    from robot6_sb3.sweep.storage import load_study, open_study, shown_url, storage_errors
    from robot6_sb3.sweep.worker import run_worker

_MODULES = {
    "finished_count": "budget",
    "SweepSettings": "settings",
    "check_study_name": "settings",
    "default_storage_url": "settings",
    "SearchSpace": "space",
    "load_space": "space",
    "TrialRow": "status",
    "trial_rows": "status",
    "load_study": "storage",
    "open_study": "storage",
    "shown_url": "storage",
    "storage_errors": "storage",
    "TrialOutcome": "outcome",
    "run_worker": "worker",
}

__all__ = [
    "SearchSpace",
    "SweepSettings",
    "TrialOutcome",
    "TrialRow",
    "check_study_name",
    "default_storage_url",
    "finished_count",
    "load_space",
    "load_study",
    "open_study",
    "run_worker",
    "shown_url",
    "storage_errors",
    "trial_rows",
]


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module 'robot6_sb3.sweep' has no attribute {name!r}")
    return getattr(importlib.import_module(f"robot6_sb3.sweep.{_MODULES[name]}"), name)
