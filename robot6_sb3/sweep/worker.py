"""One worker's loop: claim a trial, train it as a robot6 run, report its evaluations to the
pruner, tell the result; until the study's budget is finished."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from robot6_sb3.checkpoint import load_checkpoint
from robot6_sb3.errors import RunLockedError, UsageError
from robot6_sb3.evaluation import EvaluationResult, evaluate_policy
from robot6_sb3.evaluation_callback import PeriodicEvaluationCallback
from robot6_sb3.planning import TrainingPlan
from robot6_sb3.resume import model_from_checkpoint
from robot6_sb3.sweep.attributes import ERROR, INTERRUPTED, RESUMED_FROM, WORKER
from robot6_sb3.sweep.budget import (
    claim_refusal,
    finished_count,
    origin,
    queue_copy,
    slots_taken,
    used_up_chains,
)
from robot6_sb3.sweep.heartbeat import Heartbeat, fail_lost_trials, first_heartbeat
from robot6_sb3.sweep.outcome import TrialOutcome, lost_outcome
from robot6_sb3.sweep.settings import SweepSettings
from robot6_sb3.sweep.storage import join_study, quiet_experimental, shown_url
from robot6_sb3.sweep.trial_run import TrialRecorder, metric_value, plan_trial
from robot6_sb3.trainer import run_training


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
        self.storage, self.study = join_study(settings)
        self.poll_interval = max(0.5, min(5.0, settings.heartbeat_interval / 2))

    def trials(self) -> list[FrozenTrial]:
        return self.study.get_trials(deepcopy=False)

    def run(self) -> list[TrialOutcome]:
        outcomes: list[TrialOutcome] = []
        failures_in_a_row = 0
        settings = self.settings
        while not self.should_stop():
            for trial, requeued in fail_lost_trials(
                self.study, self.storage, settings.grace_period
            ):
                outcomes.append(lost_outcome(trial, requeued, settings))
                self.on_trial_end(outcomes[-1])
            trials = self.trials()
            if finished_count(trials) >= settings.n_trials:
                break
            waiting = any(t.state == TrialState.WAITING for t in trials)
            used_up = used_up_chains(self.study.user_attrs)
            if not waiting and slots_taken(trials, used_up, settings.grace_period) >= (
                settings.n_trials
            ):
                # The rest of the budget is running elsewhere; stay to take over a trial
                # whose worker is lost.
                time.sleep(self.poll_interval)
                continue
            outcome = self.run_next()
            outcomes.append(outcome)
            self.on_trial_end(outcome)
            failures_in_a_row = failures_in_a_row + 1 if outcome.state == "FAIL" else 0
            if failures_in_a_row == 3:
                raise UsageError(
                    f"3 trials in a row failed; the last one: {outcome.error}. Fix the space "
                    f"file (robot6 sweep status --study {settings.study} shows each error)"
                )
        return outcomes

    def run_next(self) -> TrialOutcome:
        """Claim a trial (the next queued copy, else a fresh one) and run it, unless it
        must not run."""
        with quiet_experimental():
            trial = self.study.ask()
        try:
            first_heartbeat(self.storage, trial._trial_id)
        except optuna.exceptions.UpdateFinishedTrialError:
            return TrialOutcome(trial.number, "SUPERSEDED")
        with Heartbeat(self.storage, trial._trial_id, self.settings.heartbeat_interval):
            frozen = self.storage.get_trial(trial._trial_id)
            retry_of = None if origin(frozen) == frozen.number else origin(frozen)
            refusal = claim_refusal(
                frozen,
                self.trials(),
                self.settings.n_trials,
                used_up_chains(self.study.user_attrs),
                self.settings.grace_period,
            )
            if refusal is not None:
                trial.set_user_attr(refusal, True)
                self._tell(trial, state=TrialState.FAIL)
                return TrialOutcome(trial.number, refusal.upper(), retry_of=retry_of)
            trial.set_user_attr(WORKER, f"{socket.gethostname()}:{os.getpid()}")
            return self.run_trial(trial, retry_of)

    def _tell(
        self, trial: optuna.Trial, value: float | None = None, state: TrialState | None = None
    ) -> bool:
        """``study.tell``; false when another worker failed the trial meanwhile (it took this
        worker for lost, and queued a copy)."""
        try:
            self.study.tell(trial, value, state=state)
        except (ValueError, optuna.exceptions.UpdateFinishedTrialError):
            # tell raises ValueError for a trial that is no longer running, too.
            if self.storage.get_trial(trial._trial_id).state == TrialState.RUNNING:
                raise
            return False
        return True

    def run_trial(self, trial: optuna.Trial, retry_of: int | None) -> TrialOutcome:
        started = time.monotonic()
        settings = self.settings
        try:
            params = settings.space.sample(trial)
            plan = plan_trial(trial, settings, params, self.should_stop)
        except UsageError as exc:
            return self._fail(trial, str(exc), started, retry_of=retry_of)
        if self.should_stop():
            return self._interrupt(trial, started, retry_of=retry_of)
        episodes = settings.trial_episodes
        common = {"retry_of": retry_of, "resumed_from": trial.user_attrs.get(RESUMED_FROM)}
        if plan.start_episode >= episodes:
            # The lost worker finished training but not the trial: evaluate its last checkpoint.
            assert plan.source is not None
            model = model_from_checkpoint(load_checkpoint(plan.source), settings.device)
            return self._finish(
                trial, TrialState.COMPLETE, started, value=self._evaluate(model, plan),
                run=plan.source.parent.name, episodes=episodes, **common,
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
        recorder = TrialRecorder(trial, settings.paths, description, plan.start_episode)
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
        if result.stopped_early or evaluator.last_result is None:
            return self._interrupt(trial, started, **outcome)
        value = metric_value(evaluator.last_result[1], settings.space.metric)
        if evaluator.stop_requested:
            return self._finish(trial, TrialState.PRUNED, started, value=value, **outcome)
        return self._finish(trial, TrialState.COMPLETE, started, value=value, **outcome)

    def _evaluate(self, model: Any, plan: TrainingPlan) -> float:
        space = self.settings.space
        result = evaluate_policy(
            model, plan.env_id, plan.env_kwargs, space.eval_episodes, True, space.eval_seed
        )
        return metric_value(result, space.metric)

    def _finish(
        self, trial: optuna.Trial, state: TrialState, started: float, **outcome: Any
    ) -> TrialOutcome:
        """Tell the trial's end; ``SUPERSEDED`` when another worker took it over meanwhile."""
        value = outcome.get("value") if state == TrialState.COMPLETE else None
        told = self._tell(trial, value, state=state)
        return TrialOutcome(
            trial.number, state.name if told else "SUPERSEDED",
            seconds=time.monotonic() - started, **outcome,
        )  # fmt: skip

    def _fail(
        self, trial: optuna.Trial, error: str, started: float, **outcome: Any
    ) -> TrialOutcome:
        """The trial failed on its own (the trainer refused its parameters): not retried."""
        try:
            trial.set_user_attr(ERROR, error)
        except optuna.exceptions.UpdateFinishedTrialError:
            return TrialOutcome(trial.number, "SUPERSEDED", **outcome)
        return self._finish(trial, TrialState.FAIL, started, error=error, **outcome)

    def _interrupt(self, trial: optuna.Trial, started: float, **outcome: Any) -> TrialOutcome:
        """Stopped on request: fail the trial and queue a copy at once, so that the next worker
        resumes its run from ``latest.pth``. The copy keeps the chain's retries: a stop is not
        a lost worker."""
        try:
            trial.set_user_attr(INTERRUPTED, True)
        except optuna.exceptions.UpdateFinishedTrialError:
            told = False
        else:
            told = self._tell(trial, state=TrialState.FAIL)
        if told:
            queue_copy(self.study, self.storage.get_trial(trial._trial_id), lost_worker=False)
        return TrialOutcome(
            trial.number, "INTERRUPTED" if told else "SUPERSEDED",
            seconds=time.monotonic() - started, **outcome,
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
