"""One worker's loop: claim a trial, train it as a robot6 run, report its evaluations to the
pruner, tell the result; until the study's budget is finished."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from robot6_sb3.checkpoint import load_checkpoint
from robot6_sb3.errors import RunLockedError, UsageError
from robot6_sb3.evaluation import EvaluationResult, evaluate_policy
from robot6_sb3.evaluation_callback import PeriodicEvaluationCallback
from robot6_sb3.planning import TrainingPlan
from robot6_sb3.sweep.attributes import ERROR, OVER_BUDGET, RESUMED_FROM, WORKER
from robot6_sb3.sweep.budget import finished_count, slots_taken
from robot6_sb3.sweep.heartbeat import Heartbeat
from robot6_sb3.sweep.settings import SweepSettings
from robot6_sb3.sweep.storage import (
    open_settings_storage,
    open_study,
    quiet_experimental,
    shown_url,
)
from robot6_sb3.sweep.trial_run import TrialRecorder, metric_value, plan_trial
from robot6_sb3.trainer import model_from_checkpoint, run_training


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


class _Worker:
    """One worker's loop over trials (see the package docstring)."""

    def __init__(
        self,
        settings: SweepSettings,
        should_stop: Callable[[], bool],
        on_trial_end: Callable[[TrialOutcome], None],
    ) -> None:
        self.settings = settings
        self.should_stop = should_stop
        self.on_trial_end = on_trial_end
        self.storage = open_settings_storage(settings)
        self.study = open_study(settings, self.storage)
        self.poll_interval = max(0.5, min(5.0, settings.heartbeat_interval / 2))

    def trials(self) -> list[FrozenTrial]:
        return self.study.get_trials(deepcopy=False)

    def run(self) -> list[TrialOutcome]:
        outcomes: list[TrialOutcome] = []
        failures_in_a_row = 0
        budget, max_retry = self.settings.n_trials, self.settings.max_retry
        while not self.should_stop():
            with quiet_experimental():
                optuna.storages.fail_stale_trials(self.study)
            trials = self.trials()
            if finished_count(trials) >= budget:
                break
            waiting = any(t.state == TrialState.WAITING for t in trials)
            if not waiting and slots_taken(trials, max_retry) >= budget:
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
        with quiet_experimental():
            trial = self.study.ask()
        with Heartbeat(self.storage, trial._trial_id, self.settings.heartbeat_interval):
            frozen = self.storage.get_trial(trial._trial_id)
            retry_of = frozen.system_attrs.get("failed_trial")
            if retry_of is None:
                taken = slots_taken(self.trials(), self.settings.max_retry, below=trial.number)
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
            plan = plan_trial(trial, settings, params, self.should_stop)
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
                trial.report(metric_value(result, settings.space.metric), step=done)
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
        recorder = TrialRecorder(trial, description, plan.start_episode)
        train_started = time.monotonic()
        while True:
            try:
                result = run_training(
                    plan, should_stop=self.should_stop, callbacks=[recorder, evaluator]
                )
                break
            except RunLockedError:
                # Another worker took the run between our check and our lock: wait, re-plan.
                plan = plan_trial(trial, settings, params, self.should_stop)
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
            value = metric_value(evaluator.last_result[1], settings.space.metric)
            return TrialOutcome(
                trial.number, "PRUNED", value, seconds=time.monotonic() - started, **outcome
            )
        if result.stopped_early or evaluator.last_result is None:
            return self._interrupt(trial, retry_of, started, run, done)
        value = metric_value(evaluator.last_result[1], settings.space.metric)
        self.study.tell(trial, value)
        return TrialOutcome(
            trial.number, "COMPLETE", value, seconds=time.monotonic() - started, **outcome
        )

    def _evaluate(self, model: Any, plan: TrainingPlan) -> float:
        space = self.settings.space
        result = evaluate_policy(
            model, plan.env_id, plan.env_kwargs, space.eval_episodes, True, space.eval_seed
        )
        return metric_value(result, space.metric)

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
            with quiet_experimental():
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
