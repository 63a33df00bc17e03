"""Hyperparameter and seed sweeps on Optuna: one study storage shared by every worker, on one
machine (SQLite) or many (PostgreSQL), with trials that survive their worker.

How a sweep holds together:

- Every worker (a process; any number per machine, any number of machines) opens the same
  Optuna RDB storage and study, and loops: claim a trial, train it as a normal robot6 run under
  ``<runs-root>/sweeps/<study>/``, report evaluations to the pruner, tell the result.
- A claimed trial sends a heartbeat every ``heartbeat_interval`` seconds. When a worker dies
  (SIGKILL, lost machine), any other worker finds the trial stale after ``grace_period``
  seconds, fails it, and Optuna's :class:`~optuna.storages.RetryHeartbeatStaleTrialCallback`
  queues a copy with the same parameters and user attributes. The copy's ``run`` attribute names
  the predecessor's run folder, so the retry resumes its ``latest.pth`` instead of starting
  over. The run's flock (:class:`~robot6_sb3.run_lock.RunLock`) keeps one writer per folder.
- The budget counts finished (complete or pruned) trials. A fresh trial takes a budget slot by
  its trial number, which the storage hands out atomically, so concurrent workers never run
  more trials than the budget; a retry keeps its predecessor's slot.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import shutil
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy.exc
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState

from robot6_sb3.atomic import atomic_write_bytes
from robot6_sb3.checkpoint import load_checkpoint
from robot6_sb3.episodes import EpisodeEndCallback, EpisodeRecord
from robot6_sb3.errors import RunLockedError, UsageError
from robot6_sb3.evaluation import EvaluationResult, evaluate_policy
from robot6_sb3.evaluation_callback import PeriodicEvaluationCallback
from robot6_sb3.layout import RunPaths
from robot6_sb3.planning import TrainingPlan, plan_training
from robot6_sb3.resume import model_from_checkpoint
from robot6_sb3.run_lock import RunLock, is_locked
from robot6_sb3.sweep_space import SearchSpace
from robot6_sb3.trainer import run_training
from robot6_sb3.training_config import TrainConfig

SWEEPS_DIR_NAME = "sweeps"
STORAGE_FILE_NAME = "optuna.db"
TRIAL_FILE_NAME = "sweep_trial.json"
"""Written into each trial's checkpoint folder: the study, trial number and parameters."""
STUDY_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")

# Trial user attributes (copied to a retry by Optuna's retry callback).
RUN = "run"
"""The trial's run folder name under ``checkpoints/`` and ``runs/``."""
EPISODES = "episodes"
"""Episodes completed by the run so far."""
FIRST_EPISODE_AT = "first_episode_at"
"""Unix time at which this trial's first episode (of this try) was complete."""
WORKER = "worker"
RESUMED_FROM = "resumed_from_episode"
ERROR = "error"
OVER_BUDGET = "over_budget"
SPACE_ATTR = "robot6_space"
"""Study user attribute: the space every worker of the study must use."""

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


@dataclass(frozen=True)
class SweepSettings:
    """What one worker needs to join a study; every worker of a study should agree on it."""

    study: str
    space: SearchSpace
    runs_root: Path = Path(".")
    """The study lives in ``<runs_root>/sweeps/<study>/`` (shared by all machines)."""
    storage_url: str | None = None
    """Any SQLAlchemy URL; ``None`` is SQLite in the study folder (one machine only)."""
    n_trials: int = 20
    """Budget: the study ends when this many trials are complete or pruned."""
    episodes: int | None = None
    """Episodes per trial (``None``: the space file's)."""
    heartbeat_interval: int = 10
    """Seconds between two heartbeats of a running trial."""
    grace_period: int = 60
    """Seconds without heartbeat after which a trial's worker counts as dead."""
    max_retry: int = 3
    """How many times a trial whose worker died is queued again."""
    device: str = "cpu"
    save_every: int = 50

    @property
    def study_dir(self) -> Path:
        return study_dir(self.runs_root, self.study)

    @property
    def checkpoints_dir(self) -> Path:
        return self.study_dir / "checkpoints"

    @property
    def runs_dir(self) -> Path:
        return self.study_dir / "runs"

    @property
    def trial_episodes(self) -> int:
        return self.space.episodes if self.episodes is None else self.episodes

    @property
    def url(self) -> str:
        return self.storage_url or default_storage_url(self.runs_root, self.study)


@dataclass(frozen=True)
class TrialOutcome:
    """What a worker did with one claimed trial."""

    number: int
    state: str
    """``COMPLETE``, ``PRUNED``, ``FAIL`` (its error is in ``error``), ``INTERRUPTED`` (queued
    again), ``SUPERSEDED`` (declared dead and retried elsewhere while still running) or
    ``OVER_BUDGET`` (claimed after the budget was taken; not run)."""
    value: float | None = None
    run: str | None = None
    episodes: int = 0
    resumed_from: int | None = None
    retry_of: int | None = None
    seconds: float = 0.0
    train_seconds: float = 0.0
    error: str | None = None


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
        }


def check_study_name(name: str) -> None:
    """:raises UsageError: unless ``name`` can name a folder (letters, digits, ``._-``)."""
    if not STUDY_NAME_RE.match(name):
        raise UsageError(
            f"--study {name!r} must be 1-100 letters, digits, '.', '_' or '-', starting with a "
            "letter or digit (it names the study's folder)"
        )


def study_dir(runs_root: Path, study: str) -> Path:
    """``<runs_root>/sweeps/<study>``: the study's runs and its default SQLite storage."""
    return Path(runs_root) / SWEEPS_DIR_NAME / study


def default_storage_url(runs_root: Path, study: str) -> str:
    """SQLite in the study folder, as an absolute path (workers may start elsewhere)."""
    return f"sqlite:///{(study_dir(runs_root, study) / STORAGE_FILE_NAME).resolve()}"


def shown_url(url: str) -> str:
    """``url`` with its password masked, for messages."""
    try:
        return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return url


@contextlib.contextmanager
def _quiet_experimental() -> Iterator[None]:
    """Optuna marks heartbeats and stale-trial retry experimental; they are what we rely on."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.simplefilter("ignore", FutureWarning)
        # ask/tell with our own heartbeat thread is what Study.optimize does inside; we need
        # the loop to place budget slots and resume runs.
        warnings.filterwarnings("ignore", "Heartbeat of storage", UserWarning)
        yield


def open_storage(
    url: str,
    heartbeat_interval: int | None = None,
    grace_period: int | None = None,
    max_retry: int = 3,
) -> RDBStorage:
    """Connect to (and if needed create the tables of) an Optuna RDB storage.

    :param url: an SQLAlchemy URL (``sqlite:///...``, ``postgresql+psycopg2://...``)
    :param heartbeat_interval: seconds between heartbeats; ``None`` for a read-only look
    :param grace_period: seconds without heartbeat before a trial is failed and retried
    :param max_retry: how often a trial whose worker died is queued again
    :raises UsageError: when the URL is malformed, its driver is missing or the database
        cannot be reached
    """
    engine_kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        # Workers of one machine share the file; wait for each other's writes.
        engine_kwargs = {"connect_args": {"timeout": 60}}
    elif url.startswith("postgresql"):
        engine_kwargs = {"connect_args": {"connect_timeout": 10}, "pool_pre_ping": True}
    retry = None
    if heartbeat_interval is not None:
        with _quiet_experimental():
            retry = RetryHeartbeatStaleTrialCallback(
                max_retry=max_retry, inherit_intermediate_values=True
            )
    try:
        with _quiet_experimental():
            return RDBStorage(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=heartbeat_interval,
                grace_period=grace_period,
                heartbeat_stale_trial_callback=retry,
            )
    except (sqlalchemy.exc.SQLAlchemyError, ImportError, ValueError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise UsageError(
            f"cannot open the study storage {shown_url(url)}: {reason}. Check the URL "
            "(e.g. postgresql+psycopg2://user:password@host:5432/db), that the database server "
            "runs and accepts connections from this machine, and that its driver is installed "
            "(pip install 'robot6-sb3[sweep]')"
        ) from None


def _pruner(spec: dict[str, Any]) -> optuna.pruners.BasePruner:
    options = {key: value for key, value in spec.items() if key != "type"}
    classes = {
        "median": optuna.pruners.MedianPruner,
        "halving": optuna.pruners.SuccessiveHalvingPruner,
        "none": optuna.pruners.NopPruner,
    }
    try:
        return classes[spec["type"]](**options)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"pruner {spec['type']}: {exc}") from None


def _sampler(name: str) -> optuna.samplers.BaseSampler:
    # No seed: workers with one seed would all sample the same parameters.
    return optuna.samplers.RandomSampler() if name == "random" else optuna.samplers.TPESampler()


def _open_settings_storage(settings: SweepSettings) -> RDBStorage:
    if settings.storage_url is None:
        # The default SQLite file lives in the study folder.
        settings.study_dir.mkdir(parents=True, exist_ok=True)
    return open_storage(
        settings.url, settings.heartbeat_interval, settings.grace_period, settings.max_retry
    )


def open_study(settings: SweepSettings, storage: RDBStorage | None = None) -> optuna.Study:
    """Create the study or join it; its folders are created too.

    :param settings: the sweep
    :param storage: an open storage (default: open ``settings.url`` with heartbeats)
    :raises UsageError: for a bad study name, an unreachable storage, or a space that differs
        from the one the study was created with
    """
    check_study_name(settings.study)
    if storage is None:
        storage = _open_settings_storage(settings)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=settings.study,
        storage=storage,
        sampler=_sampler(settings.space.sampler),
        pruner=_pruner(settings.space.pruner),
        direction="maximize",
        load_if_exists=True,
    )
    fingerprint = settings.space.fingerprint()
    if SPACE_ATTR not in study.user_attrs:
        study.set_user_attr(SPACE_ATTR, fingerprint)
    recorded = study.user_attrs[SPACE_ATTR]
    if recorded != fingerprint:
        raise UsageError(
            f"study {settings.study} in {shown_url(settings.url)} was started with another "
            f"space file: it has {recorded}, this one gives {fingerprint}. Use the study's space "
            "file, or a new --study name"
        )
    settings.checkpoints_dir.mkdir(parents=True, exist_ok=True)
    settings.runs_dir.mkdir(parents=True, exist_ok=True)
    return study


def load_study(study_name: str, storage_url: str) -> optuna.Study:
    """An existing study, for reading.

    :raises UsageError: when the storage cannot be opened or has no such study
    """
    check_study_name(study_name)
    if storage_url.startswith("sqlite:///"):
        path = Path(storage_url.removeprefix("sqlite:///"))
        if not path.exists():
            raise UsageError(
                f"no study {study_name}: {path} does not exist (start one with robot6 sweep run "
                "--study NAME --space FILE, or pass --storage / --runs-root)"
            )
    storage = open_storage(storage_url)
    try:
        return optuna.load_study(study_name=study_name, storage=storage)
    except KeyError:
        names = optuna.get_all_study_names(storage)
        raise UsageError(
            f"no study {study_name} in {shown_url(storage_url)}; it holds: "
            f"{', '.join(names) or 'no studies'}"
        ) from None


def _origin(trial: FrozenTrial) -> int:
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


def _slots_taken(trials: list[FrozenTrial], max_retry: int, below: int | None = None) -> int:
    return len(
        {
            _origin(t)
            for t in trials
            if _holds_slot(t, max_retry) and (below is None or t.number < below)
        }
    )


def finished_count(trials: list[FrozenTrial]) -> int:
    """Trials that count against the budget: complete or pruned."""
    return sum(t.state in FINISHED for t in trials)


class _Heartbeat:
    """Records the trial's heartbeat every ``interval`` seconds on a thread, while in ``with``."""

    def __init__(self, storage: RDBStorage, trial_id: int, interval: int) -> None:
        self.storage = storage
        self.trial_id = trial_id
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True, name="sweep-heartbeat")

    def _beat(self) -> None:
        while True:
            # A failed beat (the database briefly away) is retried; if it stays away past the
            # grace period the trial is retried elsewhere, and this worker notices at its next
            # report.
            with contextlib.suppress(sqlalchemy.exc.SQLAlchemyError):
                self.storage.record_heartbeat(self.trial_id)
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()


class _TrialRecorder(EpisodeEndCallback):
    """Names the run folder in the trial's user attributes (so a retry finds it) and a
    ``sweep_trial.json`` beside its checkpoints, then keeps the episode count up to date.

    :param trial: the Optuna trial being trained
    :param description: written to ``sweep_trial.json``
    :param start_episode: episodes the run had before this session
    """

    def __init__(
        self, trial: optuna.Trial, description: dict[str, Any], start_episode: int
    ) -> None:
        super().__init__(start_episode)
        self.trial = trial
        self.description = description
        self.run_name: str | None = None
        self._first_recorded = False

    def _init_callback(self) -> None:
        # run_training has created the run by now; its logger writes into runs/<run>/.
        log_dir = Path(self.logger.get_dir() or "")
        self.run_name = log_dir.name
        self.trial.set_user_attr(RUN, self.run_name)
        checkpoint_dir = log_dir.parent.parent / "checkpoints" / self.run_name
        payload = {**self.description, "run": self.run_name}
        atomic_write_bytes(
            checkpoint_dir / TRIAL_FILE_NAME, (json.dumps(payload, indent=2) + "\n").encode()
        )

    def _on_episodes_complete(self, records: list[EpisodeRecord]) -> None:
        with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):
            if not self._first_recorded:
                self.trial.set_user_attr(FIRST_EPISODE_AT, time.time())
                self._first_recorded = True
            self.trial.set_user_attr(EPISODES, records[-1].episode + 1)


def _metric(result: EvaluationResult, metric: str) -> float:
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
        "checkpoints_dir": settings.checkpoints_dir,
        "runs_dir": settings.runs_dir,
    }
    if resume_from is not None:
        config = TrainConfig.from_options(resume_ckpt=resume_from, **common)
    else:
        config = TrainConfig.from_options(env_id=settings.space.env_id, **params, **common)
    return dataclasses.replace(config, labels={"study": settings.study, "trial": trial})


def _plan_trial(
    trial: optuna.Trial,
    settings: SweepSettings,
    params: dict[str, Any],
    should_stop: Callable[[], bool],
) -> TrainingPlan:
    run = trial.user_attrs.get(RUN)
    if run is None:
        return plan_training(_trial_config(settings, params, None, trial.number))
    paths = RunPaths.of(run, settings.checkpoints_dir, settings.runs_dir)
    _wait_until_unlocked(paths.lock, should_stop)
    if not paths.latest.exists():
        _remove_unstarted_run(paths)
        trial.set_user_attr(RESUMED_FROM, None)
        return plan_training(_trial_config(settings, params, None, trial.number))
    plan = plan_training(_trial_config(settings, params, paths.latest, trial.number))
    trial.set_user_attr(RESUMED_FROM, plan.start_episode)
    return plan


class _Worker:
    """One worker's loop over trials (see the module docstring)."""

    def __init__(
        self,
        settings: SweepSettings,
        should_stop: Callable[[], bool],
        on_trial_end: Callable[[TrialOutcome], None],
    ) -> None:
        self.settings = settings
        self.should_stop = should_stop
        self.on_trial_end = on_trial_end
        self.storage = _open_settings_storage(settings)
        self.study = open_study(settings, self.storage)
        self.poll_interval = max(0.5, min(5.0, settings.heartbeat_interval / 2))

    def trials(self) -> list[FrozenTrial]:
        return self.study.get_trials(deepcopy=False)

    def run(self) -> list[TrialOutcome]:
        outcomes: list[TrialOutcome] = []
        failures_in_a_row = 0
        budget, max_retry = self.settings.n_trials, self.settings.max_retry
        while not self.should_stop():
            with _quiet_experimental():
                optuna.storages.fail_stale_trials(self.study)
            trials = self.trials()
            if finished_count(trials) >= budget:
                break
            waiting = any(t.state == TrialState.WAITING for t in trials)
            if not waiting and _slots_taken(trials, max_retry) >= budget:
                # The rest of the budget is running elsewhere; stay to take over a trial
                # whose worker dies.
                time.sleep(self.poll_interval)
                continue
            outcome = self.run_next()
            outcomes.append(outcome)
            self.on_trial_end(outcome)
            failures_in_a_row = failures_in_a_row + 1 if outcome.state == "FAIL" else 0
            if failures_in_a_row == 3:
                raise UsageError(
                    f"3 trials in a row failed; the last one: {outcome.error}. Fix the space "
                    f"file (robot6 sweep status --study {self.settings.study} shows each error)"
                )
        return outcomes

    def run_next(self) -> TrialOutcome:
        with _quiet_experimental():
            trial = self.study.ask()
        with _Heartbeat(self.storage, trial._trial_id, self.settings.heartbeat_interval):
            frozen = self.storage.get_trial(trial._trial_id)
            retry_of = frozen.system_attrs.get("failed_trial")
            if retry_of is None:
                taken = _slots_taken(self.trials(), self.settings.max_retry, below=trial.number)
                if taken >= self.settings.n_trials:
                    trial.set_user_attr(OVER_BUDGET, True)
                    self.study.tell(trial, state=TrialState.FAIL)
                    return TrialOutcome(trial.number, "OVER_BUDGET")
            trial.set_user_attr(WORKER, f"{socket.gethostname()}:{os.getpid()}")
            return self.run_trial(trial, retry_of)

    def run_trial(self, trial: optuna.Trial, retry_of: int | None) -> TrialOutcome:
        started = time.monotonic()
        settings = self.settings
        try:
            params = settings.space.sample(trial)
            plan = _plan_trial(trial, settings, params, self.should_stop)
        except UsageError as exc:
            return self._fail(trial, str(exc), retry_of, started)
        if self.should_stop():
            return self._interrupt(trial, retry_of, started, None, 0)
        episodes = settings.trial_episodes
        common = {"retry_of": retry_of, "resumed_from": trial.user_attrs.get(RESUMED_FROM)}
        if plan.start_episode >= episodes:
            # The dead worker finished training but not the trial: evaluate its last checkpoint.
            assert plan.source is not None
            model = model_from_checkpoint(load_checkpoint(plan.source), settings.device)
            value = self._evaluate(model, plan)
            self.study.tell(trial, value)
            return TrialOutcome(
                trial.number, "COMPLETE", value, plan.source.parent.name, episodes,
                seconds=time.monotonic() - started, **common,
            )  # fmt: skip
        superseded = False

        def on_evaluation(done: int, result: EvaluationResult) -> bool:
            nonlocal superseded
            try:
                trial.report(_metric(result, settings.space.metric), step=done)
            except optuna.exceptions.UpdateFinishedTrialError:
                superseded = True
                return False
            return done >= episodes or not trial.should_prune()

        evaluator = PeriodicEvaluationCallback(
            plan.env_id,
            on_evaluation,
            eval_freq=settings.space.eval_every,
            n_eval_episodes=settings.space.eval_episodes,
            final_episode=episodes,
            env_kwargs=plan.env_kwargs,
            seed=settings.space.eval_seed,
            start_episode=plan.start_episode,
        )
        description = {
            "study": settings.study,
            "trial": trial.number,
            "retry_of": retry_of,
            "params": {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()},
            "storage": shown_url(settings.url),
        }
        recorder = _TrialRecorder(trial, description, plan.start_episode)
        train_started = time.monotonic()
        while True:
            try:
                result = run_training(
                    plan, should_stop=self.should_stop, callbacks=[recorder, evaluator]
                )
                break
            except RunLockedError:
                # Another worker took the run between our check and our lock: wait, re-plan.
                plan = _plan_trial(trial, settings, params, self.should_stop)
        train_seconds = time.monotonic() - train_started
        run, done = result.paths.name, result.episodes
        outcome = {"run": run, "episodes": done, "train_seconds": train_seconds, **common}
        if superseded:
            return TrialOutcome(
                trial.number, "SUPERSEDED", seconds=time.monotonic() - started, **outcome
            )
        if evaluator.stop_requested:
            self.study.tell(trial, state=TrialState.PRUNED)
            assert evaluator.last_result is not None
            value = _metric(evaluator.last_result[1], settings.space.metric)
            return TrialOutcome(
                trial.number, "PRUNED", value, seconds=time.monotonic() - started, **outcome
            )
        if result.stopped_early or evaluator.last_result is None:
            return self._interrupt(trial, retry_of, started, run, done)
        value = _metric(evaluator.last_result[1], settings.space.metric)
        self.study.tell(trial, value)
        return TrialOutcome(
            trial.number, "COMPLETE", value, seconds=time.monotonic() - started, **outcome
        )

    def _evaluate(self, model: Any, plan: TrainingPlan) -> float:
        space = self.settings.space
        result = evaluate_policy(
            model, plan.env_id, plan.env_kwargs, space.eval_episodes, True, space.eval_seed
        )
        return _metric(result, space.metric)

    def _fail(
        self, trial: optuna.Trial, error: str, retry_of: int | None, started: float
    ) -> TrialOutcome:
        trial.set_user_attr(ERROR, error)
        self.study.tell(trial, state=TrialState.FAIL)
        return TrialOutcome(
            trial.number, "FAIL", retry_of=retry_of, error=error, seconds=time.monotonic() - started
        )

    def _interrupt(
        self, trial: optuna.Trial, retry_of: int | None, started: float, run: str | None, done: int
    ) -> TrialOutcome:
        """Stopped on request: fail the trial and queue it again, as if its worker had died, so
        the next worker resumes it from ``latest.pth``."""
        if self.storage.get_trial(trial._trial_id).state != TrialState.RUNNING:
            # Declared dead and queued again already; a second copy would run it twice.
            return TrialOutcome(
                trial.number, "SUPERSEDED", run=run, episodes=done, retry_of=retry_of,
                seconds=time.monotonic() - started,
            )  # fmt: skip
        self.study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
        callback = self.storage.get_heartbeat_stale_trial_callback()
        if callback is not None:
            with _quiet_experimental():
                callback(self.study, self.storage.get_trial(trial._trial_id))
        return TrialOutcome(
            trial.number, "INTERRUPTED", run=run, episodes=done, retry_of=retry_of,
            seconds=time.monotonic() - started,
        )  # fmt: skip


def run_worker(
    settings: SweepSettings,
    should_stop: Callable[[], bool] = lambda: False,
    on_trial_end: Callable[[TrialOutcome], None] = lambda outcome: None,
) -> list[TrialOutcome]:
    """Join the study and run trials until it has ``settings.n_trials`` finished ones.

    :param settings: the sweep (every worker of a study should pass the same)
    :param should_stop: polled every env step and between trials; true stops the running trial
        cleanly and queues it again for any worker to resume
    :param on_trial_end: called after each claimed trial (to report progress)
    :returns: what this worker did, trial by trial
    :raises UsageError: for a bad storage, study or space, or three failed trials in a row
    """
    return _Worker(settings, should_stop, on_trial_end).run()


def trial_rows(study: optuna.Study, runs_root: Path) -> list[TrialRow]:
    """The study's trials, best first: complete by value, then pruned by last value, then
    running, queued and failed ones (claims over the budget are left out).

    :param study: a loaded study
    :param runs_root: where the study's folder is, to show each run's folder
    """
    folder = study_dir(runs_root, study.study_name)
    order = {TrialState.COMPLETE: 0, TrialState.PRUNED: 1, TrialState.RUNNING: 2,
             TrialState.WAITING: 3, TrialState.FAIL: 4}  # fmt: skip
    rows = []
    for trial in study.get_trials(deepcopy=False):
        if trial.user_attrs.get(OVER_BUDGET):
            continue
        value = trial.value
        if value is None and trial.intermediate_values:
            value = trial.intermediate_values[max(trial.intermediate_values)]
        run = trial.user_attrs.get(RUN)
        rows.append(
            TrialRow(
                number=trial.number,
                state=trial.state.name,
                value=value,
                params=dict(trial.params),
                episodes=trial.user_attrs.get(EPISODES),
                run=run,
                run_dir=None if run is None else folder / "checkpoints" / run,
                retry_of=trial.system_attrs.get("failed_trial"),
                resumed_from=trial.user_attrs.get(RESUMED_FROM),
                worker=trial.user_attrs.get(WORKER),
                error=trial.user_attrs.get(ERROR),
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
