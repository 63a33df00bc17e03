"""How a claimed trial becomes an ordinary robot6 run: its training config, its plan (a
retry resumes its predecessor's run), and the callback that records the run in the trial."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna

from robot6_sb3.atomic import atomic_write_bytes
from robot6_sb3.episodes import EpisodeEndCallback, EpisodeRecord
from robot6_sb3.errors import RunLockedError
from robot6_sb3.evaluation import EvaluationResult
from robot6_sb3.layout import RunPaths, StudyPaths
from robot6_sb3.planning import TrainingPlan, plan_training
from robot6_sb3.run_lock import RunLock, is_locked
from robot6_sb3.sweep.attributes import EPISODES, FIRST_EPISODE_AT, RESUMED_FROM, RUN
from robot6_sb3.sweep.settings import SweepSettings
from robot6_sb3.training_config import TrainConfig


class TrialRecorder(EpisodeEndCallback):
    """Names the run folder in the trial's user attributes (so a retry finds it) and a
    ``sweep_trial.json`` beside its checkpoints, then keeps the episode count up to date.

    :param trial: the Optuna trial being trained
    :param paths: the study's folders
    :param description: written to ``sweep_trial.json``
    :param start_episode: episodes the run had before this session
    """

    def __init__(
        self,
        trial: optuna.Trial,
        paths: StudyPaths,
        description: dict[str, Any],
        start_episode: int,
    ) -> None:
        super().__init__(start_episode)
        self.trial = trial
        self.paths = paths
        self.description = description
        self.run_name: str | None = None
        self._first_recorded = False

    def _init_callback(self) -> None:
        # run_training has created the run by now; its logger writes into runs/<run>/.
        self.run_name = Path(self.logger.get_dir() or "").name
        self.trial.set_user_attr(RUN, self.run_name)
        payload = {**self.description, "run": self.run_name}
        atomic_write_bytes(
            self.paths.trial_file(self.run_name), (json.dumps(payload, indent=2) + "\n").encode()
        )

    def _on_episodes_complete(self, records: list[EpisodeRecord]) -> None:
        with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):
            if not self._first_recorded:
                self.trial.set_user_attr(FIRST_EPISODE_AT, time.time())
                self._first_recorded = True
            self.trial.set_user_attr(EPISODES, records[-1].episode + 1)


def metric_value(result: EvaluationResult, metric: str) -> float:
    return float(getattr(result, metric))


def _wait_until_unlocked(lock: Path, should_stop: Callable[[], bool]) -> None:
    """A worker declared dead may still be writing the run; wait for it to let go."""
    while is_locked(lock) and not should_stop():
        time.sleep(0.5)


def _remove_unstarted_run(paths: RunPaths) -> None:
    """Drop the folders of a run that died before its first checkpoint (nothing to resume)."""
    try:
        with RunLock(paths.lock):
            if paths.latest.exists():
                return
            shutil.rmtree(paths.log_dir, ignore_errors=True)
            shutil.rmtree(paths.checkpoint_dir, ignore_errors=True)
    except (RunLockedError, FileNotFoundError):
        return


def _trial_config(
    settings: SweepSettings, params: dict[str, Any], resume_from: Path | None, trial: int
) -> TrainConfig:
    common = {
        "episodes": settings.trial_episodes,
        "device": settings.device,
        "threads": 1,
        "save_every": settings.save_every,
        "checkpoints_dir": settings.paths.checkpoints_dir,
        "runs_dir": settings.paths.runs_dir,
    }
    if resume_from is not None:
        config = TrainConfig.from_options(resume_ckpt=resume_from, **common)
    else:
        config = TrainConfig.from_options(env_id=settings.space.env_id, **params, **common)
    return dataclasses.replace(config, labels={"study": settings.study, "trial": trial})


def plan_trial(
    trial: optuna.Trial,
    settings: SweepSettings,
    params: dict[str, Any],
    should_stop: Callable[[], bool],
) -> TrainingPlan:
    """A new run for a first try; for a retry, the predecessor's run resumed at its
    ``latest.pth`` (or a new run if it had none yet).

    :raises UsageError: when the trainer refuses the parameters
    """
    run = trial.user_attrs.get(RUN)
    if run is None:
        return plan_training(_trial_config(settings, params, None, trial.number))
    paths = settings.paths.run(run)
    _wait_until_unlocked(paths.lock, should_stop)
    if not paths.latest.exists():
        _remove_unstarted_run(paths)
        trial.set_user_attr(RESUMED_FROM, None)
        return plan_training(_trial_config(settings, params, None, trial.number))
    plan = plan_training(_trial_config(settings, params, paths.latest, trial.number))
    trial.set_user_attr(RESUMED_FROM, plan.start_episode)
    return plan
