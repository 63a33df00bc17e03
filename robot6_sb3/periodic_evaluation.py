"""Deterministic evaluations every N completed episodes of a run (``--eval-every``), as users
of SB3's ``EvalCallback`` know them: ``best_eval.pth`` keeps the best, ``evaluations.csv`` and
TensorBoard's ``eval/*`` the curve.

``best.pth`` is chosen by one stochastic training episode's reward; an evaluation over many
deterministic episodes says better which weights to keep. It runs at a consistent point in
an env of its own, seeded the same way every time (so every evaluation meets the same
targets), with the policy's mean action: it draws from no random generator the training
uses, so a run with evaluations still resumes bitwise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
from stable_baselines3.common.base_class import BaseAlgorithm

from robot6_sb3.errors import UnsupportedSetupError
from robot6_sb3.evaluation import EvaluationResult, evaluate_in

EVAL_SEED = 0
"""Seed of the evaluation env's first reset at every evaluation."""


class PeriodicEvaluation:
    """Evaluates when the run's episode count reaches a multiple of ``every``.

    :param every: completed episodes between two evaluations
    :param episodes: episodes per evaluation
    :param make_env: builds the evaluation env (once, on first use)
    :param best: the best result so far (a resumed run's)
    """

    def __init__(
        self,
        every: int,
        episodes: int,
        make_env: Callable[[], gym.Env],
        best: EvaluationResult | None = None,
    ) -> None:
        if every < 1 or episodes < 1:
            raise ValueError(f"eval_every and eval_episodes must be >= 1, got {every}, {episodes}")
        self.every = every
        self.episodes = episodes
        self.best = best
        self._make_env = make_env
        self._env: gym.Env | None = None

    def due(self, before: int, after: int) -> bool:
        """Whether the count went from ``before`` to ``after`` episodes across a multiple."""
        return after // self.every > before // self.every

    def run(self, model: BaseAlgorithm) -> tuple[EvaluationResult, bool]:
        """Evaluate ``model``; returns the result and whether it is the best so far."""
        if self._env is None:
            self._env = self._make_env()
        result = evaluate_in(model, self._env, self.episodes, deterministic=True, seed=EVAL_SEED)
        improved = result.better_than(self.best)
        if improved:
            self.best = result
        return result, improved

    def best_state(self) -> dict[str, Any] | None:
        """The best result as a checkpoint holds it."""
        return None if self.best is None else self.best.to_dict()

    def close(self) -> None:
        if self._env is not None:
            self._env.close()
            self._env = None


def eval_env_like(env_id: str | None, env_kwargs: dict[str, Any]) -> Callable[[], gym.Env]:
    """Builds an evaluation env as the training env was made (``gym.make`` of its id).

    :raises UnsupportedSetupError: for an env not made with ``gym.make``
    """
    if env_id is None:
        raise UnsupportedSetupError(
            "eval_every needs eval_env= for an env that was not made with gym.make"
        )
    return lambda: gym.make(env_id, **env_kwargs)


def result_from_state(state: Any) -> EvaluationResult | None:
    """Inverse of :meth:`PeriodicEvaluation.best_state` (``None`` for a missing or odd one)."""
    if not isinstance(state, dict):
        return None
    try:
        return EvaluationResult(
            episodes=int(state["episodes"]),
            success_rate=float(state["success_rate"]),
            mean_reward=float(state["mean_reward"]),
            mean_final_distance=float(state["mean_final_distance"]),
        )
    except (KeyError, TypeError, ValueError):
        return None
