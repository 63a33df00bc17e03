"""An SB3 callback that evaluates the policy every N completed episodes and hands the result
to a function that may stop training (a sweep's pruner, an early-stopping rule)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from robot6_sb3.episodes import EpisodeEndCallback, EpisodeRecord
from robot6_sb3.evaluation import EvaluationResult, evaluate_policy


class PeriodicEvaluationCallback(EpisodeEndCallback):
    """Evaluates the policy deterministically when the run has a multiple of ``eval_freq``
    completed episodes, and once more at ``final_episode``.

    It evaluates at the episode's consistent point, so when it is listed after the checkpoint
    callback the evaluated weights are exactly those of the checkpoint just written. When
    ``on_evaluation`` returns ``False`` training stops at the next env step (the unfinished
    episode is discarded, as for Ctrl-C).

    :param env_id: the env to evaluate in (a fresh one, never the training env)
    :param on_evaluation: called with the completed episode count and the result; returns
        whether training should go on
    :param eval_freq: completed episodes between two evaluations
    :param n_eval_episodes: episodes per evaluation
    :param final_episode: the run's last episode count, always evaluated
    :param env_kwargs: keyword arguments for ``gym.make``
    :param seed: seed of the evaluation env, the same at every evaluation
    :param start_episode: episodes completed before this callback starts (a resumed run)
    :param verbose: verbosity level
    """

    def __init__(
        self,
        env_id: str,
        on_evaluation: Callable[[int, EvaluationResult], bool],
        eval_freq: int,
        n_eval_episodes: int = 5,
        final_episode: int | None = None,
        env_kwargs: dict[str, Any] | None = None,
        seed: int = 0,
        start_episode: int = 0,
        verbose: int = 0,
    ) -> None:
        super().__init__(start_episode, verbose)
        if eval_freq < 1:
            raise ValueError(f"eval_freq must be >= 1, got {eval_freq}")
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs or {})
        self.on_evaluation = on_evaluation
        self.eval_freq = eval_freq
        self.n_eval_episodes = n_eval_episodes
        self.final_episode = final_episode
        self.seed = seed
        self.last_result: tuple[int, EvaluationResult] | None = None
        """The latest evaluation: completed episodes and what it measured."""
        self.stop_requested = False

    def _on_step(self) -> bool:
        return super()._on_step() and not self.stop_requested

    def _on_episodes_complete(self, records: list[EpisodeRecord]) -> None:
        episodes = records[-1].episode + 1
        due = any((r.episode + 1) % self.eval_freq == 0 for r in records)
        if not (due or episodes == self.final_episode) or self.stop_requested:
            return
        result = evaluate_policy(
            self.model,
            self.env_id,
            self.env_kwargs,
            episodes=self.n_eval_episodes,
            deterministic=True,
            seed=self.seed,
        )
        self.last_result = (episodes, result)
        if not self.on_evaluation(episodes, result):
            self.stop_requested = True
