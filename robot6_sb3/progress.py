"""A progress bar of what a user watches a run for: episodes done of the run's total, the mean
reward and success rate of the recent episodes, env steps per second and the time left.

It is updated when episodes end (not at every step), so it costs next to nothing; the command
line shows it only when its output is a terminal.
"""

from __future__ import annotations

import sys
import time
from collections import deque

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from tqdm import tqdm

RECENT = 50
"""Episodes the bar's mean reward and success rate are taken over."""


class EpisodeProgress(BaseCallback):
    """Shows the run's progress on stderr.

    :param total_episodes: the run's episode count when training ends
    :param start_episode: episodes the run had before this session
    """

    def __init__(self, total_episodes: int, start_episode: int = 0) -> None:
        super().__init__(verbose=0)
        self.total_episodes = total_episodes
        self.start_episode = start_episode
        self._rewards: deque[float] = deque(maxlen=RECENT)
        self._successes: deque[bool] = deque(maxlen=RECENT)
        self._bar: tqdm | None = None
        self._started = 0.0
        self._start_steps = 0

    def _on_training_start(self) -> None:
        self._bar = tqdm(
            total=self.total_episodes,
            initial=self.start_episode,
            unit="ep",
            desc="episodes",
            dynamic_ncols=True,
            file=sys.stderr,
            smoothing=0.05,
        )
        self._started = time.monotonic()
        self._start_steps = int(self.num_timesteps)

    def _on_step(self) -> bool:
        dones = self.locals["dones"]
        if self._bar is None or not np.any(dones):
            return True
        infos = self.locals["infos"]
        ended = np.flatnonzero(dones)
        for index in ended:
            info = infos[int(index)]
            if "episode" in info:
                self._rewards.append(float(info["episode"]["r"]))
            if "is_success" in info:
                self._successes.append(bool(info["is_success"]))
        seconds = max(time.monotonic() - self._started, 1e-9)
        speed = (self.num_timesteps - self._start_steps) / seconds
        parts = []
        if self._rewards:
            parts.append(f"reward {np.mean(self._rewards):.3g}")
        if self._successes:
            parts.append(f"success {np.mean(self._successes):.0%}")
        parts.append(f"{speed:.0f} steps/s")
        self._bar.set_postfix_str(", ".join(parts), refresh=False)
        self._bar.update(len(ended))
        return True

    def _on_training_end(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
