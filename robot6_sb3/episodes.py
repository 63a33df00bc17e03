"""Seeing episodes end in SB3's ``learn`` and acting on them at the next *consistent point*.

An episode's end is seen in ``on_step`` (``self.locals["dones"]``), before SB3 has stored the
step's transitions in the replay buffer and before the gradient steps that follow. The
consistent point is the start of the next rollout (or the end of ``learn`` after a rollout
that ran to its end): the buffer then holds every transition, the gradient steps are done
and no new action has been drawn, so what is saved there is exactly the state an
uninterrupted run continues from. When a callback stops ``learn`` in the middle of a rollout
(Ctrl-C, ``StopTrainingOnMaxEpisodes``), SB3 drops the step it was in, so the episodes
pending since the last consistent point are discarded: a resume replays them exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from robot6_sb3.layout import CSV_COLUMNS


@dataclass(frozen=True)
class EpisodeRecord:
    """One finished episode, as the CSV and TensorBoard report it."""

    episode: int
    """0-based index over the whole run, in the order episodes end (by env index within a step)."""
    global_step: int
    """SB3's ``num_timesteps`` at the episode's last step."""
    reward: float
    length: int
    success: bool | None
    """``info["is_success"]`` at the last step, when the env reports it."""
    distance: float | None
    """``info["distance"]`` at the last step (meters, for the robot6 envs), when reported."""

    def csv_row(self) -> list[Any]:
        """The row in the order of :data:`~robot6_sb3.layout.CSV_COLUMNS`."""
        success = "" if self.success is None else int(self.success)
        distance = "" if self.distance is None else self.distance
        values = [self.episode, self.global_step, self.reward, self.length, success, distance]
        assert len(values) == len(CSV_COLUMNS)
        return values


class EpisodeEndCallback(BaseCallback):
    """Base class: records episode ends and hands them to :meth:`_on_episodes_complete` at the
    next consistent point.

    Subclasses that override ``_on_rollout_start``, ``_on_rollout_end``, ``_on_step`` or
    ``_on_training_end`` call ``super()`` first.

    :param start_episode: run-wide index of the first episode this callback sees
    :param verbose: verbosity level: 0 no output, 1 info messages
    """

    def __init__(self, start_episode: int = 0, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.episodes_completed = start_episode
        """Episodes of the run handed over at consistent points."""
        self._pending: list[EpisodeRecord] = []
        self._rollout_ran_to_end = True

    def _on_step(self) -> bool:
        dones = self.locals["dones"]
        if np.any(dones):
            infos = self.locals["infos"]
            for index in np.flatnonzero(dones):
                record = self._record(infos[int(index)])
                self._pending.append(record)
                self._on_episode_end(record)
        return True

    def _record(self, info: dict[str, Any]) -> EpisodeRecord:
        episode = info.get("episode")
        if episode is None:
            raise RuntimeError(
                f"{type(self).__name__} needs each env wrapped in stable_baselines3's Monitor "
                "(info['episode'] is missing at an episode end)"
            )
        success = info.get("is_success")
        distance = info.get("distance")
        return EpisodeRecord(
            episode=self.episodes_completed + len(self._pending),
            global_step=int(self.num_timesteps),
            reward=float(episode["r"]),
            length=int(episode["l"]),
            success=None if success is None else bool(success),
            distance=None if distance is None else float(distance),
        )

    def _on_rollout_start(self) -> None:
        self._complete_pending()
        self._rollout_ran_to_end = False

    def _on_rollout_end(self) -> None:
        self._rollout_ran_to_end = True

    def _on_training_end(self) -> None:
        if self._rollout_ran_to_end:
            self._complete_pending()
        elif self._pending:
            discarded, self._pending = self._pending, []
            self._on_episodes_discarded(discarded)
        self._rollout_ran_to_end = True

    def _complete_pending(self) -> None:
        if self._pending:
            records, self._pending = self._pending, []
            self.episodes_completed += len(records)
            self._on_episodes_complete(records)

    def _on_episode_end(self, record: EpisodeRecord) -> None:
        """Called in ``on_step`` when an episode ends (before its consistent point)."""

    def _on_episodes_complete(self, records: list[EpisodeRecord]) -> None:
        """Called at the consistent point after the episodes in ``records`` ended."""

    def _on_episodes_discarded(self, records: list[EpisodeRecord]) -> None:
        """Called when ``learn`` stopped before these episodes reached a consistent point."""
